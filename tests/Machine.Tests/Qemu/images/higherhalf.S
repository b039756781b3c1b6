# An ELF32 kernel linked in the higher half but loaded at 1 MiB (higherhalf.ld): the loader places segments
# at their physical addresses and enters at e_entry translated to its physical address. Paging is off, so the
# code runs where it was loaded and touches nothing by its link address; it prints where it finds itself.
	.set KERNEL_BASE, 0xc0000000

	.text
	.globl _start
_start:
	mov $(stack_top - KERNEL_BASE), %esp
	call 1f
1:	pop %eax
	sub $(1b - _start), %eax	# the physical address of _start
	call puthex
	call newline
	mov $0x14, %al
	jmp exit

	.bss
	.align 16
	.skip 4096
stack_top:

	.include "serial.inc"
