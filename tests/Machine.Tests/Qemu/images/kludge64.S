# An ELF64 file that QEMU's -kernel accepts only through the header's address fields: the loader must take
# load_addr, load_end_addr, bss_end_addr and entry_addr from the header and ignore the ELF program headers.
# The code is 32-bit, as the multiboot hand-over requires.
	.set AOUT_KLUDGE, 1
	.code32

	.text
	.globl _start
_start:
	mov $stack_top, %esp
	mov $greeting, %esi
	call puts
	mov answer, %eax		# .data came from the file
	call puthex
	call newline
	mov zeroed, %eax		# .bss was cleared
	call puthex
	call newline
	mov $0x13, %al
	jmp exit

	.section .rodata
greeting:	.asciz "loaded by the multiboot address fields\n"

	.data
answer:	.long 0xc0ffee42

	.bss
zeroed:	.long 0
	.align 16
	.skip 4096
stack_top:

	.include "serial.inc"
