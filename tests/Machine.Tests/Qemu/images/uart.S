# The 16550A registers as a driver probes them: FIFO identification, the divisor latch, the scratch register,
# loopback with its echo, and the THR-empty interrupt condition in IIR. Each read is recorded, and printed as
# two hex digits at the end: printing on the way would go to the divisor latch or loop back.
	.set RBR, COM1
	.set IER, COM1 + 1
	.set IIR, COM1 + 2
	.set FCR, COM1 + 2
	.set LCR, COM1 + 3
	.set MCR, COM1 + 4
	.set LSR, COM1 + 5
	.set SCR, COM1 + 7

	.text
	.globl _start
_start:
	mov $stack_top, %esp
	mov $reads, %edi

	mov $LSR, %dx			# idle: THR empty and transmitter empty
	call show
	mov $IIR, %dx			# no interrupt pending, FIFOs off
	call show
	mov $FCR, %dx			# enable and clear the FIFOs: IIR bits 6-7 say 16550A
	mov $0x07, %al
	out %al, %dx
	mov $IIR, %dx
	call show

	mov $LCR, %dx			# DLAB: the first two registers become the divisor latch
	mov $0x83, %al
	out %al, %dx
	mov $RBR, %dx
	mov $0x01, %al
	out %al, %dx
	mov $IER, %dx
	mov $0x02, %al
	out %al, %dx
	mov $RBR, %dx
	call show
	mov $IER, %dx
	call show
	mov $LCR, %dx
	mov $0x03, %al
	out %al, %dx
	call show
	mov $IER, %dx			# back to IER, which the latch writes left alone
	call show

	mov $SCR, %dx
	mov $0x5a, %al
	out %al, %dx
	call show

	mov $MCR, %dx			# loopback: what is sent comes back, not to the host
	mov $0x1a, %al
	out %al, %dx
	call show
	mov $RBR, %dx
	mov $0x77, %al
	out %al, %dx
	mov $LSR, %dx
	call show
	mov $RBR, %dx
	call show
	mov $LSR, %dx
	call show
	mov $MCR, %dx
	mov $0x0b, %al
	out %al, %dx

	mov $IER, %dx			# enabling the THR-empty interrupt raises it; reading IIR clears it
	mov $0x02, %al
	out %al, %dx
	mov $IIR, %dx
	call show
	call show
	mov $RBR, %dx			# sending a byte raises it again (it goes to the host)
	mov $'!', %al
	out %al, %dx
	mov $IIR, %dx
	call show
	mov $IER, %dx
	xor %al, %al
	out %al, %dx
	mov $IIR, %dx
	call show

	mov $reads, %esi
1:	cmp %edi, %esi
	jae 2f
	lodsb
	ror $4, %al
	call putdigit
	ror $4, %al
	call putdigit
	mov $' ', %al
	call putc
	jmp 1b
2:	call newline
	mov $0x12, %al
	jmp exit

# show: read the port in DX and record the value at EDI.
show:
	in %dx, %al
	stosb
	ret

	.bss
reads:	.skip 64
	.align 16
	.skip 4096
stack_top:

	.include "serial.inc"
