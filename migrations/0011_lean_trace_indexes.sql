-- Fewer index entries per stored trace, for ingest (summary traces are bound by them: a B-tree
-- insert per index per row). The tuple after NAT is stored only where NAT changed it: a column
-- equal to the one as the packet arrived is NULL in rows written with indexed = 2 (rows from
-- before keep indexed = 1 and their values), so the after-NAT indexes hold only what NAT touched.
-- Rules hit are found by (family, table, chain, handle): a filter without the family names all
-- six, which that index serves as well as the one dropped here.
DROP INDEX traces_by_nat_saddr;
DROP INDEX traces_by_nat_daddr;
DROP INDEX traces_by_nat_dport;
CREATE INDEX traces_by_nat_saddr ON traces(nat_saddr) WHERE nat_saddr IS NOT NULL;
CREATE INDEX traces_by_nat_daddr ON traces(nat_daddr) WHERE nat_daddr IS NOT NULL;
CREATE INDEX traces_by_nat_dport ON traces(nat_dport) WHERE nat_dport IS NOT NULL;
DROP INDEX trace_rules_by_table;
