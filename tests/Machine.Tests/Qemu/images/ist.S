# Exception delivery through the IST (SDM vol. 3 §7.14.5): #UD and #GP gates name IST1, so the processor loads
# RSP from the TSS's IST1 even without a privilege change, aligns it down to 16 bytes (§7.14.2), and pushes
# SS, RSP, RFLAGS, CS, RIP and, for #GP, the error code. IST1 is deliberately 8 bytes off alignment, and the
# interrupted stack is too. The handler prints RSP at entry and the frame as it finds it, then resumes.
# The RFLAGS image is printed without RF (see show_frame). Then a double fault (§7.15, interrupt 8): with the #GP
# gate's code selector beyond the GDT, the #GP raised while delivering a #GP is a contributory exception during a
# contributory one: #DF, error code 0, delivered on IST1. Its saved RIP is undefined, so only RSP at entry and
# the error code are printed, and the image exits from the handler. Left out, as QEMU 7.2 deviates from the
# manual there (InterruptsTests cover them): the EXT bit (§7.13) in the error code of a fault raised while
# delivering an exception, and the #NP error code for a not-present gate in long mode (vector * 8 + 2 + EXT;
# QEMU pushes vector * 16 + 2).
	.include "longmode.inc"
	.set IST1_TOP, ist1_stack + 4096 - 8
	.set BAD_SELECTOR, 0x1230

	.code64
	.text
main64:
	movq $IST1_TOP, tss + TSS_IST1
	mov $TSS_SELECTOR, %eax
	ltr %ax
	mov $6, %edi
	mov $invalid_opcode, %esi
	mov $0x8e01, %edx		# interrupt gate, DPL 0, IST1
	call set_gate
	mov $13, %edi
	mov $general_protection, %esi
	call set_gate
	mov $8, %edi
	mov $double_fault, %esi
	call set_gate

	mov $IST1_TOP, %eax
	show "ist1 "
	sub $8, %rsp			# the interrupted stack, misaligned
	mov %rsp, %rax
	show "rsp before "
	movq $1f, fixup
	mov $1, %eax
	cmp $2, %eax			# flags for the frame to show: CF SF PF AF
	ud2
1:	movq $2f, fixup
	mov $BAD_SELECTOR, %eax		# beyond the GDT's limit: #GP with the selector as error code
	add $0, %eax			# flags: PF only
	mov %eax, %ds
2:	movw $BAD_SELECTOR, idt + 13 * 16 + 2	# #GP's gate: a code segment beyond the GDT
	mov $BAD_SELECTOR, %eax
	mov %eax, %ds

double_fault:
	print "#DF\n"
	mov %rsp, %rax
	show "  rsp at entry "
	mov (%rsp), %rax
	show "  error code "
	mov $0x22, %al
	jmp exit

invalid_opcode:
	print "#UD\n"
	mov %rsp, %rax
	show "  rsp at entry "
	jmp frame
general_protection:
	print "#GP\n"
	mov %rsp, %rax
	show "  rsp at entry "
	pop %rax
	show "  error code "
frame:
	mov %rsp, %rsi
	call show_frame
	mov fixup, %rax
	mov %rax, (%rsp)
	iretq

	.bss
	.align 4096
ist1_stack: .skip 4096
fixup:	.quad 0
