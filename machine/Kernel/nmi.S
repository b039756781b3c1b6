# nmi.S: the NMI entry, asm_exc_nmi, with the nesting protocol Linux's entry_64.S uses.
#
# The processor blocks further NMIs from an NMI's delivery until the next IRET — any IRET, including that of an
# exception or interrupt taken inside the NMI handler (SDM vol. 3 §6.7.1). After that a second NMI can arrive while
# the first is still running, and through the IST it lands at the same place on the NMI stack: its hardware frame
# overwrites the first one's. So the first NMI copies its frame away before anything can unblock NMIs, and a
# nested NMI never runs the handler itself: it turns the first one's final IRET into a jump to repeat_nmi, which
# runs the handler once more. The NMI stack then holds, from its top down:
#
#	the hardware frame (SS, RSP, RFLAGS, CS, RIP)	written by every NMI, nested or not
#	saved RDX					the entry's one scratch register
#	"NMI executing"					1 from repeat_nmi until just before the final IRET
#	the iret frame					what the final IRET returns to: a copy of the outermost frame,
#							or repeat_nmi if a nested NMI asked for a repeat
#	the outermost frame				the first NMI's hardware frame, kept until it is done
#	pt_regs						for exc_nmi
#
# Offsets from the NMI stack's top (the IST pointer; the hardware aligns it to 16 bytes, and it is):
	.set NMI_HW_FRAME, -5 * 8
	.set NMI_SAVED_RDX, -6 * 8
	.set NMI_EXECUTING, -7 * 8
	.set NMI_IRET_FRAME, -12 * 8
	.set NMI_OUTERMOST_FRAME, -17 * 8
	.set NMI_FRAME_QUADS, 5			# RIP, CS, RFLAGS, RSP, SS: offsets RIP - RIP ... SS - RIP within a frame

	IDT_GATE X86_TRAP_NMI, asm_exc_nmi, 0, IST_INDEX_NMI

	.section .entry.text, "ax"
	.globl asm_exc_nmi
	.type asm_exc_nmi, @function
asm_exc_nmi:
	pushq %rdx				# RSP = top + NMI_SAVED_RDX from here to first_nmi
	testb $3, (NMI_HW_FRAME + CS - RIP - NMI_SAVED_RDX)(%rsp)
	jz .Lnmi_from_kernel

	# From user mode nothing of the kernel is running, so this NMI is like any entry from user mode: the user's
	# GS and root, a thread stack that is free. It moves there at once; an NMI nesting later (after an IRET in
	# exc_nmi) comes from kernel mode and takes the NMI stack, which this one no longer uses.
	swapgs
	SWITCH_TO_KERNEL_CR3 %rdx
	mov %rsp, %rdx
	mov %gs:PER_CPU_TOP_OF_STACK, %rsp
	.set slot, NMI_FRAME_QUADS
	.rept NMI_FRAME_QUADS
	.set slot, slot - 1
	pushq (NMI_HW_FRAME - NMI_SAVED_RDX + slot * 8)(%rdx)	# SS first, RIP last
	.endr
	pushq $-1				# orig_ax: not a system call
	mov (%rdx), %rdx
	PUSH_REGS
	pushq $X86_EFLAGS_FIXED			# DF and AC as the kernel wants them, not as user code left them
	popfq
	mov %rsp, %rdi
	call exc_nmi
	jmp swapgs_restore_regs_and_return_to_usermode	# no exit work: an NMI may not run it (interrupts stay off)

.Lnmi_from_kernel:
	# Is another NMI in progress? Three ways to tell, in this order:
	# 1. It is copying the outermost frame to the iret frame (between repeat_nmi and end_repeat_nmi): it will
	#    run the handler anyway, and the iret frame is half written. Leave at once.
	movq $repeat_nmi, %rdx
	cmpq %rdx, (NMI_HW_FRAME + RIP - RIP - NMI_SAVED_RDX)(%rsp)
	jb 1f
	movq $end_repeat_nmi, %rdx
	cmpq %rdx, (NMI_HW_FRAME + RIP - RIP - NMI_SAVED_RDX)(%rsp)
	jb nested_nmi_out
	# 2. "NMI executing" is set: it is somewhere between there and its exit.
1:	cmpq $1, (NMI_EXECUTING - NMI_SAVED_RDX)(%rsp)
	je nested_nmi
	# 3. It has cleared "NMI executing" and not yet IRETed: the interrupted RSP lies in the NMI stack. But
	#    so does a user-chosen RSP at the first instructions of entry_SYSCALL_64, before it loads a stack of
	#    its own. The outgoing NMI sets DF before it clears "NMI executing"; SYSCALL clears DF (SFMASK), so a
	#    user cannot arrive here with both.
	lea -NMI_SAVED_RDX(%rsp), %rdx		# the NMI stack's top
	cmpq %rdx, (NMI_HW_FRAME + RSP - RIP - NMI_SAVED_RDX)(%rsp)
	ja first_nmi
	sub $EXCEPTION_STKSZ, %rdx
	cmpq %rdx, (NMI_HW_FRAME + RSP - RIP - NMI_SAVED_RDX)(%rsp)
	jb first_nmi
	testl $X86_EFLAGS_DF, (NMI_HW_FRAME + EFLAGS - RIP - NMI_SAVED_RDX)(%rsp)
	jz first_nmi

nested_nmi:
	# Point the outer NMI's iret frame at repeat_nmi, with the stack it expects there (at the outermost frame)
	# and this handler's RFLAGS (interrupts off). The outer NMI's own frame is safe in the outermost copy.
	incq irq_stats + IRQ_STAT_NMI_REPEATS * 8
	lea (NMI_OUTERMOST_FRAME - NMI_SAVED_RDX)(%rsp), %rdx
	mov %rdx, (NMI_IRET_FRAME + RSP - RIP - NMI_SAVED_RDX)(%rsp)
	movq $__KERNEL_DS, (NMI_IRET_FRAME + SS - RIP - NMI_SAVED_RDX)(%rsp)
	movq $__KERNEL_CS, (NMI_IRET_FRAME + CS - RIP - NMI_SAVED_RDX)(%rsp)
	movq $repeat_nmi, (NMI_IRET_FRAME + RIP - RIP - NMI_SAVED_RDX)(%rsp)
	pushfq
	popq %rdx
	mov %rdx, (NMI_IRET_FRAME + EFLAGS - RIP - NMI_SAVED_RDX)(%rsp)
nested_nmi_out:
	popq %rdx
	iretq					# back into the outer NMI, kernel to kernel: cannot fault

first_nmi:
	movq (%rsp), %rdx
	pushq $0				# "NMI executing": not yet
	sub $(NMI_FRAME_QUADS * 8), %rsp	# room for the iret frame
	.rept NMI_FRAME_QUADS			# the hardware frame to the outermost frame, SS first
	pushq (NMI_HW_FRAME + SS - RIP - NMI_IRET_FRAME)(%rsp)
	.endr
	# Nothing so far could unblock NMIs: a nested NMI is impossible before this point, possible after it.

	.globl repeat_nmi
repeat_nmi:
	# RSP = top + NMI_OUTERMOST_FRAME. A repeat arrives here from the outer NMI's final IRET with NMIs unblocked;
	# an NMI nesting from here to end_repeat_nmi leaves at once (case 1), as the iret frame is being rewritten.
	movq $1, (NMI_EXECUTING - NMI_OUTERMOST_FRAME)(%rsp)
	add $(NMI_IRET_FRAME + NMI_FRAME_QUADS * 8 - NMI_OUTERMOST_FRAME), %rsp
	.rept NMI_FRAME_QUADS			# the outermost frame to the iret frame, SS first
	pushq (NMI_OUTERMOST_FRAME + SS - RIP - (NMI_IRET_FRAME + NMI_FRAME_QUADS * 8))(%rsp)
	.endr
	sub $(NMI_FRAME_QUADS * 8), %rsp	# back to the outermost frame
	.globl end_repeat_nmi
end_repeat_nmi:
	# From here a nested NMI redirects the iret frame to repeat_nmi (case 2 or 3).
	pushq $-1				# orig_ax
	PUSH_REGS
	# The NMI may have interrupted anything: the exit paths after the user root is back, the entry before its
	# SWAPGS. paranoid_entry finds the kernel's GS and root whatever they were (EBX, R14 say what to undo), and
	# clears DF, which a repeat brings from the exit window.
	call paranoid_entry
	mov %rsp, %rdi
	call exc_nmi
	# paranoid_exit's undoing, without its IRET: this exit has its own.
	PARANOID_RESTORE_CR3_AND_GS
nmi_restore:
	POP_REGS
	popq %rdi
	add $((1 + NMI_FRAME_QUADS) * 8), %rsp	# orig_ax and the outermost frame: RSP = top + NMI_IRET_FRAME
	# "NMI executing" goes back to 0 here, so an NMI arriving from now to the IRET must recognise this window by
	# RSP and DF (case 3). The IRET restores the interrupted DF.
	std
	movq $0, (NMI_EXECUTING - NMI_IRET_FRAME)(%rsp)
	iretq
	.size asm_exc_nmi, . - asm_exc_nmi

	.section .text.kernel, "ax"
# exc_nmi: RDI = the frame; the kernel's GS and root. Counts the NMI (and for one from user mode, whether it runs
# on the thread stack). Armed by nmi_selftest_nested, it sends itself an NMI, which waits (NMIs are blocked),
# then takes an interrupt whose IRET unblocks NMIs: the second NMI arrives nested, right after that IRET.
# Keeps RBX and R14 (paranoid_entry's GS decision and CR3).
exc_nmi:
	# The entry promises the kernel's GS whatever the NMI interrupted; everything per-CPU relies on it. A wrong
	# GS base makes this read fault or differ: either way the kernel stops here rather than corrupt something.
	cmpq $percpu, %gs:PER_CPU_SELF
	jne nmi_bad_gs
	incq irq_stats + IRQ_STAT_NMI * 8
	testb $3, CS(%rdi)
	jz 1f
	incq irq_stats + IRQ_STAT_NMI_USER * 8
	mov %gs:PER_CPU_TOP_OF_STACK, %rax
	cmp %rax, %rsp
	jae 2f
	sub $THREAD_SIZE, %rax
	cmp %rax, %rsp
	jae 1f
2:	incq irq_stats + IRQ_STAT_NMI_USER_OFF_THREAD_STACK * 8
1:	cmpq $0, nmi_user_armed
	jne nmi_user_second
	cmpq $0, nmi_nest_armed
	je 3f
	movq $0, nmi_nest_armed
	call apic_send_nmi_self
	int $SPURIOUS_APIC_VECTOR
3:	ret

# nmi_user_second: exc_nmi armed by nmi_selftest_user, RDI = the frame. An NMI that interrupted the kernel sends
# the second NMI, which the processor holds (NMIs stay blocked until the next IRET), and goes back to the system
# call without an IRET: the NMI it interrupted ran with the kernel's GS and root, so paranoid_entry changed
# nothing, and the NMI stack is left as an NMI's final IRET leaves it ("NMI executing" 0).
nmi_user_second:
	testb $3, CS(%rdi)
	jnz 3b
	movq $0, nmi_user_armed
	call apic_send_nmi_self
	movq $0, nmi_stack_top + NMI_EXECUTING
	jmp nmi_user_resume

nmi_bad_gs:
	KPRINT "FATAL exc_nmi: GS is not the kernel's\n"
	mov $FATAL_EXIT_STATUS, %eax
	jmp machine_exit

# apic_send_nmi_self: an NMI to this processor through the ICR. Keeps every register.
apic_send_nmi_self:
	movl $0, APIC_BASE + APIC_ICR2
	movl $(APIC_DM_NMI | APIC_DEST_ALLINC), APIC_BASE + APIC_ICR
	ret

# nmi_selftest_nested: irq_selftest's IRQ_SELFTEST_NMI_NESTED. Arms exc_nmi and sends the first NMI, then waits
# for the two calls of exc_nmi (the NMI may arrive a few instructions after the ICR write).
nmi_selftest_nested:
	mov irq_stats + IRQ_STAT_NMI * 8, %rdx
	add $2, %rdx
	movq $1, nmi_nest_armed
	call apic_send_nmi_self
	mov $SPIN_LIMIT, %ecx
1:	cmp irq_stats + IRQ_STAT_NMI * 8, %rdx
	loopne 1b
	movq $0, nmi_nest_armed
	xor %eax, %eax
	ret

# nmi_selftest_user: irq_selftest's IRQ_SELFTEST_NMI_USER, RDI = the frame. User code cannot program the APIC,
# and an NMI the kernel sends arrives in the kernel; this one must arrive while CS is the user's, on our machine
# (which delivers it at the next instruction boundary) as on QEMU (at the end of a translation block). So the first
# NMI arrives here and nmi_user_second sends the second one while NMIs are blocked; nothing unblocks them before
# this call's return, which must be an IRET: RF in the frame refuses Linux's SYSRET (SYSRET cannot restore RF),
# SET_POST_SYS the illumos flavour's. The held NMI arrives right after that IRET, before the user's next instruction.
nmi_selftest_user:
	# The way back from nmi_user_second skips the NMI's exit, which would restore the registers: keep the
	# callee-saved ones (do_syscall's RBX) here.
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi
	mov %rsp, nmi_user_resume_rsp
	movq $1, nmi_user_armed
	call apic_send_nmi_self
	mov $SPIN_LIMIT, %ecx
1:	cmpq $0, nmi_user_armed
	loopne 1b
	movq $0, nmi_user_armed			# no NMI came: the user's check sees none
	jmp 2f
nmi_user_resume:
	mov nmi_user_resume_rsp, %rsp
	mov (%rsp), %rdi
	orq $X86_EFLAGS_RF, EFLAGS(%rdi)
	SET_POST_SYS
2:	pop %rdi
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	xor %eax, %eax
	ret

# nmi_selftest_stack_df_clear / _set: irq_selftest's IRQ_SELFTEST_NMI_STACK_DF_*. An NMI arrives while RSP points
# into the NMI stack, as a user's RSP does at entry_SYSCALL_64's first instruction, with DF clear (as SYSCALL
# leaves it) or set. The loop that waits for the NMI to be counted (handled or taken for nested) uses no stack.
	.set NMI_HOSTILE_RSP_DEPTH, 512
nmi_selftest_stack_df_clear:
	cld
	jmp 1f
nmi_selftest_stack_df_set:
	std
1:	mov irq_stats + IRQ_STAT_NMI * 8, %rdx
	add irq_stats + IRQ_STAT_NMI_REPEATS * 8, %rdx
	mov %rsp, %r8
	mov $SPIN_LIMIT, %ecx
	mov $(nmi_stack_top - NMI_HOSTILE_RSP_DEPTH), %rsp
	movl $0, APIC_BASE + APIC_ICR2
	movl $(APIC_DM_NMI | APIC_DEST_ALLINC), APIC_BASE + APIC_ICR
2:	mov irq_stats + IRQ_STAT_NMI * 8, %rax
	add irq_stats + IRQ_STAT_NMI_REPEATS * 8, %rax
	cmp %rax, %rdx
	loope 2b
	mov %r8, %rsp
	cld
	xor %eax, %eax
	ret

	.section .data, "aw"
	.balign 8
nmi_nest_armed: .quad 0
nmi_user_armed: .quad 0
nmi_user_resume_rsp: .quad 0
