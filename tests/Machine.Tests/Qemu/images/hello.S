# Protected mode basics: string output, a loop, multiplication and division, string instructions.
	.text
	.globl _start
_start:
	mov $stack_top, %esp
	mov $hello, %esi
	call puts

	# 1 + 2 + ... + 100 with LOOP
	xor %eax, %eax
	mov $100, %ecx
1:	add %ecx, %eax
	loop 1b
	call putdec
	call newline

	# 12! with MUL, wrapping modulo 2^32, in hex
	mov $1, %eax
	mov $12, %ecx
2:	mul %ecx
	loop 2b
	call puthex
	call newline

	# REPNE SCASB measures the greeting; REP MOVSB copies it backwards-free into RAM, then print the copy
	mov $hello, %edi
	xor %al, %al
	mov $-1, %ecx
	cld
	repne scasb
	not %ecx
	mov %ecx, %eax
	call putdec
	call newline
	mov $hello, %esi
	mov $copy, %edi
	rep movsb
	movb $'H', copy
	mov $copy, %esi
	call puts

	# signed division and flags: -1000 / 7 = -142 remainder -6
	mov $-1000, %eax
	cdq
	mov $7, %ecx
	idiv %ecx
	call puthex
	mov %edx, %eax
	call puthex
	call newline

	mov $0x10, %al
	jmp exit

	.section .rodata
hello:	.asciz "hello from protected mode\n"

	.bss
copy:	.skip 64
	.align 16
	.skip 4096
stack_top:

	.include "serial.inc"
