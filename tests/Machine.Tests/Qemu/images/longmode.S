# The switch to long mode (longmode.inc): what CR0, CR4 and EFER hold once in 64-bit mode, with EFER.LMA set
# by the processor when CR0.PG was set with EFER.LME (SDM vol. 3 §10.8.5), and 64-bit arithmetic working.
	.include "longmode.inc"
	.code64
	.text
main64:
	mov %cr0, %rax
	show "cr0="
	mov %cr4, %rax
	show "cr4="
	mov $MSR_EFER, %ecx
	call read_msr
	show "efer="
	mov %cs, %eax
	show "cs="

	# 3^40 needs all 64 bits: computed with 64-bit IMUL in a loop
	mov $1, %eax
	mov $3, %ebx
	mov $40, %ecx
1:	imul %rbx, %rax
	dec %ecx
	jnz 1b
	show "3^40="
	# a 128-bit product and a 64-bit division
	mov $0xfedcba9876543210, %rax
	mov $0x123456789abcdef, %rbx
	mul %rbx
	push %rax
	mov %rdx, %rax
	show "high="
	pop %rax
	show "low="
	xor %edx, %edx
	mov $1000000007, %rbx
	div %rbx
	mov %rdx, %rax
	show "mod="

	mov $0x20, %al
	jmp exit

