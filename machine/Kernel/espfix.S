# espfix.S: ESPFIX64. An IRET to a 16-bit stack segment (an LDT data segment with B = 0, which 16-bit programs such as
# Wine's Win16 use) loads only SP: bits 31:16 of ESP keep what RSP held at the IRET — bits of the kernel's stack
# address, handed to user mode. A 32-bit kernel hides them by giving SS a base; 64-bit mode ignores segment bases,
# so the exit instead IRETs from a stack whose address has the user's own bits 31:16 there: the espfix stack.
#
# One page (espfix_page, written by the kernel through its identity address) is mapped read-only at every page of
# the 4 GiB from ESPFIX_BASE, in both roots. The exit copies the IRET frame into that page at ESPFIX_FRAME_OFFSET and
# runs the IRET at ESPFIX_BASE | (user ESP & 0xffff0000) | ESPFIX_FRAME_OFFSET: the same bytes, seen through the
# alias whose bits 31:16 are the user's, so whatever IRET leaves there is what the user had.
#
# An IRET that faults there (a bad CS or SS in a sigreturn frame) cannot push its exception frame on the read-only
# page: the CPU makes that a #DF (on its IST stack). espfix_double_fault turns it back into the #GP the user's frame
# deserved, as if the IRET had faulted in user mode, which is how error_entry's bad-IRET path treats it elsewhere.
#
# Every LDT stack segment takes this exit (the test is SS's TI bit), as Linux's: a 32-bit one only pays for a copy.

	.set ESPFIX_PGD_ENTRY, 510		# PML4 slot: ESPFIX_BASE = -2 << 39, the kernel half, below __START_KERNEL_map
	.set ESPFIX_BASE, 0xffffff0000000000
	.set ESPFIX_FRAME_SIZE, 6 * 8		# RAX (the exit's scratch), then RIP, CS, RFLAGS, RSP, SS
	.set ESPFIX_FRAME_OFFSET, PAGE_SIZE - ESPFIX_FRAME_SIZE	# below 64 KiB: bits 31:16 of the alias are the user's
	.set ESPFIX_ALIAS_PAGES_GB, 4		# 4 GiB of aliases: every value of bits 31:16

	.section .entry.text, "ax"

# native_irq_return_ldt: from swapgs_restore_regs_and_return_to_usermode, still with the kernel's GS and root, on the
# trampoline stack: the user's RDI, then the IRET frame (RIP, CS, RFLAGS, RSP, SS) whose SS is an LDT selector.
	.globl native_irq_return_ldt
	.type native_irq_return_ldt, @function
native_irq_return_ldt:
	pushq %rax
	mov $espfix_page + ESPFIX_FRAME_OFFSET, %eax	# the writable view: the kernel root's identity map
	popq (%rax)				# RAX; the user's RDI waits on the trampoline stack until after the CR3 switch
	.irp slot, 1, 2, 3, 4, 5		# RIP, CS, RFLAGS, RSP, SS
	pushq 8 * \slot(%rsp)
	popq 8 * \slot(%rax)
	.endr
	mov 8 * 4(%rax), %eax			# the user's RSP: zero-extended, bits 31:16 are what the alias carries
	and $0xffff0000, %eax
	movabs $ESPFIX_BASE + ESPFIX_FRAME_OFFSET, %rdi
	or %rdi, %rax				# the read-only alias of the frame, on the user's bits 31:16
	SWITCH_TO_USER_CR3 %rdi
	popq %rdi
	swapgs
	mov %rax, %rsp				# from here the stack is the espfix alias, mapped in the user root
	popq %rax
	jmp native_irq_return_iret
	.size native_irq_return_ldt, . - native_irq_return_ldt

	.section .text.kernel, "ax"

# init_espfix_bsp: the alias region — espfix_pt maps espfix_page at all its 512 entries (read-only, not executable,
# supervisor), espfix_pd points all 512 entries at espfix_pt (1 GiB of aliases), espfix_pdpt its first 4 entries at
# espfix_pd (4 GiB); PML4 slot ESPFIX_PGD_ENTRY of both roots points at espfix_pdpt. Upper levels are writable and
# supervisor: the leaves decide.
	.globl init_espfix_bsp
init_espfix_bsp:
	mov $espfix_page + _PAGE_PRESENT, %eax
	bts $63, %rax				# NX
	mov $espfix_pt, %edi
	mov $512, %ecx
	rep stosq
	mov $espfix_pt + _PAGE_PRESENT + _PAGE_RW, %eax
	mov $espfix_pd, %edi
	mov $512, %ecx
	rep stosq
	mov $espfix_pd + _PAGE_PRESENT + _PAGE_RW, %eax
	mov $espfix_pdpt, %edi
	mov $ESPFIX_ALIAS_PAGES_GB, %ecx
	rep stosq
	movq $espfix_pdpt + _PAGE_PRESENT + _PAGE_RW, kernel_p4d_high + ESPFIX_PGD_ENTRY * 8
	.if KPTI
	movq $espfix_pdpt + _PAGE_PRESENT + _PAGE_RW, user_p4d_high + ESPFIX_PGD_ENTRY * 8
	.endif
	ret

# espfix_double_fault(regs): RDI = the #DF's pt_regs (after paranoid_entry). When the #DF is an IRET from the espfix
# stack that faulted, rewrite it into the #GP(0) of user mode that it stands for: a hardware frame for
# asm_exc_general_protection at the top of the trampoline stack (error code 0, then the user's RIP, CS, RFLAGS, RSP,
# SS from the espfix frame, where the #DF's RSP points), and the #DF's own frame returns to that stub with RSP there —
# the trampoline stack is free, as nothing runs on it while the espfix stack is in use. RAX = 1 then, else 0.
	.globl espfix_double_fault
espfix_double_fault:
	xor %eax, %eax
	movabs $native_irq_return_iret, %rcx
	cmp %rcx, RIP(%rdi)
	jne 1f
	cmpq $__KERNEL_CS, CS(%rdi)
	jne 1f
	mov RSP(%rdi), %rsi
	mov %rsi, %rcx
	sar $39, %rcx
	cmp $(ESPFIX_PGD_ENTRY - 512), %rcx	# the slot, sign-extended: -2
	jne 1f
	push %rdi
	mov %gs:PER_CPU_TRAMPOLINE_TOP, %rdi
	sub $(6 * 8), %rdi
	movq $0, (%rdi)				# #GP's error code
	mov %rdi, %rdx
	add $8, %rdi
	mov $5, %ecx
	rep movsq				# RIP, CS, RFLAGS, RSP, SS: the read-only alias is readable
	pop %rdi
	mov %rdx, RSP(%rdi)
	movq $asm_exc_general_protection, RIP(%rdi)
	mov $1, %eax
1:	ret

	.bss
	.balign PAGE_SIZE
espfix_pdpt:	.skip PAGE_SIZE
espfix_pd:	.skip PAGE_SIZE
espfix_pt:	.skip PAGE_SIZE
espfix_page:	.skip PAGE_SIZE
