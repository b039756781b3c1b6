# entry_64.S: the 64-bit SYSCALL entry and the two ways back to user mode (SYSRET, IRET).
#
# SYSCALL (SDM vol. 2 "SYSCALL") saves RIP in RCX and RFLAGS in R11, clears the SFMASK bits, loads CS and SS from
# STAR and jumps to LSTAR — and does nothing else: RSP is still the user's, GS base the user's, CR3 the user root.
# The entry therefore starts with SWAPGS (the per-CPU area), parks the user RSP there, switches CR3, and only then
# has a stack. Everything up to the CR3 switch and from the switch back on runs on the user root, so it lives in
# .entry.text, which both roots map.

	.section .entry.text, "ax"
	.globl entry_SYSCALL_64
	.type entry_SYSCALL_64, @function
entry_SYSCALL_64:
	swapgs					# GS base = the per-CPU area; the user's waits in KERNEL_GS_BASE
	mov %rsp, %gs:PER_CPU_USER_RSP		# no free register: the user RSP goes to per-CPU scratch
	SWITCH_TO_KERNEL_CR3 %rsp		# RSP is the only register we may clobber
	mov %gs:PER_CPU_TOP_OF_STACK, %rsp
entry_SYSCALL_64_safe_stack:
	# The frame an interrupt from user mode would have pushed (SS, RSP, RFLAGS, CS, RIP), so that every exit
	# treats a system call like any other entry from user mode.
	pushq $__USER_DS
	pushq %gs:PER_CPU_USER_RSP
	pushq %r11				# user RFLAGS, as SYSCALL saved them
	pushq $__USER_CS
	pushq %rcx				# user RIP, as SYSCALL saved it
entry_SYSCALL_64_after_hwframe:
	pushq %rax				# orig_ax: the number, for whoever inspects the frame later
	PUSH_REGS rax=$-ENOSYS			# the result unless a handler replaces it

	mov %rsp, %rdi
	mov %eax, %esi				# the number is the low 32 bits (Linux's int nr): upper bits ignored
	call do_syscall_64

	# Opportunistic SYSRET: SYSRET is much cheaper than IRET but restores less — RIP from RCX, RFLAGS from
	# R11, fixed CS and SS — so it may only be used when the frame holds exactly what SYSRET would produce.
	# Anything else (a sigreturn, exit work, a debugger) takes the IRET path, which restores the frame as is.
	movq RCX(%rsp), %rcx
	movq RIP(%rsp), %r11
	cmpq %rcx, %r11				# SYSRET returns to RCX: it must be the frame's RIP
	jne swapgs_restore_regs_and_return_to_usermode
	.if SYSRET_CHECK
	# On Intel, SYSRET to a non-canonical RCX raises #GP in ring 0 but after the user RSP is back
	# (CVE-2012-0217): the #GP would run on a user-chosen stack. Sign-extend from bit 47 and compare.
	shl $16, %rcx
	sar $16, %rcx
	cmpq %rcx, %r11
	jne swapgs_restore_regs_and_return_to_usermode
	.endif
	cmpq $__USER_CS, CS(%rsp)		# SYSRETQ loads __USER_CS and nothing else
	jne swapgs_restore_regs_and_return_to_usermode
	movq R11(%rsp), %r11
	cmpq %r11, EFLAGS(%rsp)			# SYSRET loads RFLAGS from R11
	jne swapgs_restore_regs_and_return_to_usermode
	# RF: SYSRET cannot restore it (it clears it), and a pending RF matters to an instruction breakpoint.
	# TF: after SYSRET with TF set, the trap would be taken on the instruction after the SYSCALL, not on
	# the SYSCALL's return as IRET reports it; leave that to IRET as Linux does.
	testq $(X86_EFLAGS_RF | X86_EFLAGS_TF), %r11
	jnz swapgs_restore_regs_and_return_to_usermode
	cmpq $__USER_DS, SS(%rsp)		# SYSRET loads __USER_DS as SS
	jne swapgs_restore_regs_and_return_to_usermode

	.globl syscall_return_via_sysret
syscall_return_via_sysret:
	POP_REGS				# RSP now at the RDI slot
	SYSRET_VIA_TRAMPOLINE sysretq
	.size entry_SYSCALL_64, . - entry_SYSCALL_64

# swapgs_restore_regs_and_return_to_usermode: the IRET exit for a pt_regs frame on the thread stack whose CS is a
# user selector. The hardware frame is copied to the trampoline stack, whose page the user root maps.
	.globl swapgs_restore_regs_and_return_to_usermode
	.type swapgs_restore_regs_and_return_to_usermode, @function
swapgs_restore_regs_and_return_to_usermode:
	POP_REGS
	mov %rsp, %rdi
	mov %gs:PER_CPU_TRAMPOLINE_TOP, %rsp
	pushq SS - RDI(%rdi)
	pushq RSP - RDI(%rdi)
	pushq EFLAGS - RDI(%rdi)
	pushq CS - RDI(%rdi)
	pushq RIP - RDI(%rdi)
	pushq (%rdi)
	SWITCH_TO_USER_CR3 %rdi
	popq %rdi
	swapgs
	.globl native_irq_return_iret
native_irq_return_iret:
	# A fault here (a bad frame: non-canonical RIP, a bad selector) is taken in ring 0 on this stack, with
	# the user's GS and CR3 already in place; the exception entry must recognise this address.
	iretq
	.size swapgs_restore_regs_and_return_to_usermode, . - swapgs_restore_regs_and_return_to_usermode

	.section .text.kernel, "ax"
# do_syscall_64: RDI = the frame, ESI = the number.
do_syscall_64:
	mov $sys_call_table, %edx
	mov $NR_syscalls, %ecx
	jmp do_syscall

# do_syscall: RDI = the frame, ESI = the number, RDX = the table of RCX handlers (64-bit or compat). Calls the
# handler (RAX = its result into the frame), then the exit work if any is pending, then reports a single step.
do_syscall:
	push %rbx
	mov %rdi, %rbx
	pushq EFLAGS(%rdi)			# the user's RFLAGS as the call began: a handler (rt_sigreturn) may replace them
	cmp %ecx, %esi
	jae 1f					# out of range: the frame's RAX keeps -ENOSYS
	call *(%rdx, %rsi, 8)
	mov %rax, RAX(%rbx)
1:	cmpq $0, %gs:PER_CPU_EXIT_WORK
	je 2f
	mov %rbx, %rdi
	call syscall_exit_work
2:	testl $X86_EFLAGS_TF, (%rsp)
	jz 3f
	# The user single-stepped into the system call. SYSCALL cleared TF (SFMASK) and INT n clears it, so the
	# processor reports no step for the instruction; IRET restoring TF would trap only after the next one. Report
	# the step here, at the return address, as Linux reports it to a tracer (TIF_SINGLESTEP): a #DB with DR6.BS
	# to the user's handler. The frame it saves keeps TF, so stepping goes on after the handler.
	mov %rbx, %rdi
	mov $DR6_BS, %esi
	mov $X86_TRAP_DB, %edx
	xor %ecx, %ecx
	call deliver_user_fault
3:	add $8, %rsp
	pop %rbx
	ret

# syscall_exit_work: RDI = the frame. Does and clears the pending EXIT_WORK_* work; what it changes in the frame
# decides between SYSRET and IRET.
syscall_exit_work:
	mov %gs:PER_CPU_EXIT_WORK, %rax
	movq $0, %gs:PER_CPU_EXIT_WORK
	mov %gs:PER_CPU_EXIT_WORK_VALUE, %rdx
	test $EXIT_WORK_SET_RCX, %eax
	jz 1f
	mov %rdx, RCX(%rdi)
1:	test $EXIT_WORK_SET_R11, %eax
	jz 2f
	mov %rdx, R11(%rdi)
2:	ret
