# r3 > r3: each turn narrows r3 by one, so the state never repeats; the complexity limit ends it.
	.section	xdp,"ax",@progbits
	.globl	same_register_compare_loop
	.type	same_register_compare_loop,@function
same_register_compare_loop:
	r3 = *(u32 *)(r1 + 12)
	r0 = 2
LBB1_1:
	if r3 > r3 goto LBB1_1
	exit
.Lend:
	.size	same_register_compare_loop, .Lend-same_register_compare_loop
	.section	license,"aw",@progbits
	.globl	_license
_license:
	.asciz	"GPL"
