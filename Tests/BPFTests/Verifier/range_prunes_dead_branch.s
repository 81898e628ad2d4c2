# Two unknown scalars whose ranges decide a comparison: this kernel (6.18) prunes the dead
# branch, so the invalid read there is never reached.
	.section	xdp,"ax",@progbits
	.globl	range_prunes_dead_branch
	.type	range_prunes_dead_branch,@function
range_prunes_dead_branch:
	r2 = *(u32 *)(r1 + 12)
	r3 = r2
	r3 &= 255
	r4 = r2
	r4 |= 4096
	if r3 > r4 goto LBB0_2
	r0 = 2
	exit
LBB0_2:
	r0 = *(u64 *)(r5 + 0)
	exit
.Lend:
	.size	range_prunes_dead_branch, .Lend-range_prunes_dead_branch
	.section	license,"aw",@progbits
	.globl	_license
_license:
	.asciz	"GPL"
