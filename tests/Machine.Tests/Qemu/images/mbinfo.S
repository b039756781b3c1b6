# The multiboot hand-over: EAX's magic, the information block's memory fields and its memory map.
	.set MBI_FLAGS, 0
	.set MBI_MEM_LOWER, 4
	.set MBI_MEM_UPPER, 8
	.set MBI_MMAP_LENGTH, 44
	.set MBI_MMAP_ADDR, 48
	.set MBI_HAS_MEMORY, 1 << 0
	.set MBI_HAS_MMAP, 1 << 6

	.text
	.globl _start
_start:
	mov $stack_top, %esp
	mov %ebx, %ebp
	mov $magic_text, %esi
	call puts
	call puthex
	call newline

	mov $flags_text, %esi
	call puts
	mov MBI_FLAGS(%ebp), %eax
	and $(MBI_HAS_MEMORY | MBI_HAS_MMAP), %eax
	call puthex
	call newline

	mov $lower_text, %esi
	call puts
	mov MBI_MEM_LOWER(%ebp), %eax
	call putdec
	mov $upper_text, %esi
	call puts
	mov MBI_MEM_UPPER(%ebp), %eax
	call putdec
	call newline

	# Each entry: size (not counting itself), base (64 bits), length (64 bits), type.
	mov MBI_MMAP_ADDR(%ebp), %ebx
	mov MBI_MMAP_LENGTH(%ebp), %edi
	add %ebx, %edi
1:	cmp %edi, %ebx
	jae 2f
	lea 4(%ebx), %esi
	call puthex64
	mov $' ', %al
	call putc
	lea 12(%ebx), %esi
	call puthex64
	mov $' ', %al
	call putc
	mov 20(%ebx), %eax
	call putdec
	call newline
	add (%ebx), %ebx
	add $4, %ebx
	jmp 1b

2:	mov $0x11, %al
	jmp exit

	.section .rodata
magic_text:	.asciz "eax="
flags_text:	.asciz "flags&0x41="
lower_text:	.asciz "mem_lower="
upper_text:	.asciz " mem_upper="

	.bss
	.align 16
	.skip 4096
stack_top:

	.include "serial.inc"
