# selftest_irq.S: interrupts and NMIs as user code can observe them — through the kernel's statistics (irq_info),
# the APIC timer (apic_timer), kernel-side scenarios (irq_selftest) and the APIC doorbell mapped for user code.
# Each check counts events the scenario itself causes, so it holds however fast the timer runs against the
# processor (QEMU's APIC timer follows the host clock, ours the instruction count): waits are loops bounded by
# counts, never by time, and a missing interrupt fails a check instead of hanging.

	.set TIMER_PERIOD, 20000		# bus clocks: 20000 instructions on our machine, microseconds under QEMU
	.set SPIN_INNER, 1000			# user-mode iterations between two looks at a statistic
	.set SPIN_ROUNDS, 2000

# CHECK_GREW name, index, before: PASS when the statistic IRQ_STAT_<index> has grown since the value in the register
# before (not RBX, which it uses).
	.macro CHECK_GREW name, index, before
	mov $\index, %edi
	mov \before, %rsi
	call u_stat_delta
	test %rax, %rax
	setnz %bl
	movzbl %bl, %ebx
	CHECK "\name", %rbx, $1
	.endm

	.section .user.text, "ax"

# u_irq_info: EDI = an IRQ_STAT_* index (or IRQ_INFO_IRQ_COUNT). Returns it in RAX.
u_irq_info:
	mov $__NR_irq_info, %eax
	syscall
	ret

# u_stat_delta: EDI = an IRQ_STAT_* index, RSI = its earlier value. Returns how much it grew since.
u_stat_delta:
	push %rsi
	call u_irq_info
	pop %rsi
	sub %rsi, %rax
	ret

# u_apic_timer: EDI = the period (0: stop). Returns the system call's result.
u_apic_timer:
	mov $__NR_apic_timer, %eax
	syscall
	ret

# u_irq_selftest: EDI = an IRQ_SELFTEST_* scenario.
u_irq_selftest:
	mov $__NR_irq_selftest, %eax
	syscall
	ret

# u_spin_until_changes: EDI = an IRQ_STAT_* index, RSI = its earlier value. Runs user code until the statistic
# moves, or SPIN_ROUNDS rounds have gone by.
u_spin_until_changes:
	push %rbx
	push %r12
	push %r13
	mov %edi, %ebx
	mov %rsi, %r12
	mov $SPIN_ROUNDS, %r13d
1:	mov $SPIN_INNER, %ecx
2:	pause					# the spin-wait hint; QEMU leaves its block loop on it, so its timer is seen at once
	loop 2b
	mov %ebx, %edi
	call u_irq_info
	cmp %r12, %rax
	jne 3f
	dec %r13d
	jnz 1b
3:	pop %r13
	pop %r12
	pop %rbx
	ret

# The timer. pause sleeps in the kernel (STI; HLT) until a tick, which interrupts kernel mode; that kernel code ran
# with interrupts enabled, outside any handler, so the return takes the preemption point. Once the timer is known to
# run, ticks interrupt user code too: they are counted, handled on the IRQ stack, and the reschedule each asks for
# is done on the way back to user mode. (Waiting in pause first also lets QEMU's timer, which can take
# milliseconds of host time to start, get going before user code spins for it.)
	SELFTEST test_timer
test_timer:
	mov $IRQ_STAT_TIMER_KERNEL, %edi
	call u_irq_info
	mov %rax, %r12
	mov $IRQ_STAT_PREEMPT_KERNEL, %edi
	call u_irq_info
	mov %rax, %r13
	mov $TIMER_PERIOD, %edi
	call u_apic_timer
	CHECK "apic_timer: starts a periodic timer", %rax, $0
	mov $__NR_pause, %eax
	syscall
	CHECK "pause: returns -EINTR once an interrupt came", %rax, $-EINTR
	CHECK_GREW "timer: interrupts arrive in kernel mode (pause)", IRQ_STAT_TIMER_KERNEL, %r12
	CHECK_GREW "timer: the return to kernel mode takes the preemption point", IRQ_STAT_PREEMPT_KERNEL, %r13

	# The timer runs now, so a tick may come between the two reads: read the reschedule count first, so that such a
	# tick moves both counts past their readings or neither, and the spin then waits for one more.
	mov $IRQ_STAT_RESCHED_USER, %edi
	call u_irq_info
	mov %rax, %r13
	mov $IRQ_STAT_TIMER_USER, %edi
	call u_irq_info
	mov %rax, %r12
	mov $IRQ_STAT_TIMER_USER, %edi
	mov %r12, %rsi
	call u_spin_until_changes
	xor %edi, %edi
	call u_apic_timer
	CHECK_GREW "timer: interrupts arrive in user mode", IRQ_STAT_TIMER_USER, %r12
	CHECK_GREW "timer: the return to user mode does the reschedule the tick asked for", IRQ_STAT_RESCHED_USER, %r13
	mov $IRQ_STAT_TIMER_OFF_IRQ_STACK, %edi
	call u_irq_info
	CHECK "timer: the handler runs on the IRQ stack", %rax, $0
	mov $IRQ_INFO_IRQ_COUNT, %edi
	call u_irq_info
	CHECK "irq: the nesting count is -1 outside the handlers", %rax, $-1
	mov $1, %edi
	call u_apic_timer
	CHECK "apic_timer: a period too short for the handler is -EINVAL", %rax, $-EINVAL
	ret

# pause's compat number, through int 0x80 from compatibility mode (selftest_compat.S's u_call32).
	SELFTEST test_pause_compat
test_pause_compat:
	mov $TIMER_PERIOD, %edi
	call u_apic_timer
	mov $compat_pause, %edi
	call u_call32
	xor %edi, %edi
	call u_apic_timer
	movslq u32_pause_result, %rbx
	CHECK "pause (compat, int 0x80): returns -EINTR once an interrupt came", %rbx, $-EINTR
	ret

	.code32
compat_pause:
	mov $__NR_compat_pause, %eax
	int $0x80
	mov %eax, u32_pause_result
	ret
	.code64

# One tick (the one that ends a pause) enables interrupts inside its handler and sends itself an IPI, which nests:
# the IRQ count goes to 1 and the IPI's handler runs on the IRQ stack below the tick's, with no second switch to
# the stack's top. The tick's handler waits for the IPI before it returns, so one pause is enough.
	SELFTEST test_irq_nesting
test_irq_nesting:
	mov $IRQ_STAT_NESTED_ON_IRQ_STACK, %edi
	call u_irq_info
	mov %rax, %r12
	mov $IRQ_SELFTEST_NEST, %edi
	call u_irq_selftest
	mov $TIMER_PERIOD, %edi
	call u_apic_timer
	mov $__NR_pause, %eax
	syscall
	xor %edi, %edi
	call u_apic_timer
	mov $IRQ_STAT_NESTED_ON_IRQ_STACK, %edi
	mov %r12, %rsi
	call u_stat_delta
	CHECK "irq: an interrupt nesting in a handler stays on the IRQ stack", %rax, $1
	mov $IRQ_INFO_IRQ_COUNT, %edi
	call u_irq_info
	CHECK "irq: the nesting count is back to -1", %rax, $-1
	ret

	SELFTEST test_spurious
test_spurious:
	mov $IRQ_STAT_SPURIOUS, %edi
	call u_irq_info
	mov %rax, %r12
	mov $IRQ_STAT_UNEXPECTED, %edi
	call u_irq_info
	mov %rax, %r13
	mov $IRQ_SELFTEST_SPURIOUS, %edi
	call u_irq_selftest
	mov $IRQ_STAT_SPURIOUS, %edi
	mov %r12, %rsi
	call u_stat_delta
	CHECK "spurious vector: its own handler runs", %rax, $1
	mov $IRQ_STAT_UNEXPECTED, %edi
	mov %r13, %rsi
	call u_stat_delta
	CHECK "spurious vector: not taken for an unexpected one", %rax, $0
	ret

# An NMI the kernel holds back until the IRET of irq_selftest(IRQ_SELFTEST_NMI_USER) arrives in user mode
# (exc_nmi counts it as from user mode only when its frame's CS is the user's). It is handled once, on the thread
# stack. User code itself cannot program the APIC: the page where its window was mapped for user code faults.
	.set U_FORMER_APIC_WINDOW, 0x00007fffffff0000
	SELFTEST test_nmi_user
test_nmi_user:
	mov $IRQ_STAT_NMI_USER, %edi
	call u_irq_info
	mov %rax, %r12
	mov $IRQ_SELFTEST_NMI_USER, %edi
	call u_irq_selftest
	mov $IRQ_STAT_NMI_USER, %edi
	mov %r12, %rsi
	call u_stat_delta
	CHECK "nmi: from user mode, handled once", %rax, $1
	mov $IRQ_STAT_NMI_USER_OFF_THREAD_STACK, %edi
	call u_irq_info
	CHECK "nmi: from user mode, handled on the thread stack", %rax, $0
	ARM_FAULT 1f
	movabs $U_FORMER_APIC_WINDOW + APIC_ICR, %rax
2:	mov (%rax), %eax
1:	CHECK "APIC: not mapped for user code (#PF)", u_fault_vector, $X86_TRAP_PF
	CHECK "APIC: the #PF is at the read", u_fault_rip, $2b
	ret

# u_nmi_scenario: EDI = an IRQ_SELFTEST_NMI_* scenario. Runs it; returns RAX = NMIs handled, RDX = repeats left.
u_nmi_scenario:
	push %rbx
	push %r12
	push %r13
	mov %edi, %ebx
	mov $IRQ_STAT_NMI, %edi
	call u_irq_info
	mov %rax, %r12
	mov $IRQ_STAT_NMI_REPEATS, %edi
	call u_irq_info
	mov %rax, %r13
	mov %ebx, %edi
	call u_irq_selftest
	mov $IRQ_STAT_NMI_REPEATS, %edi
	mov %r13, %rsi
	call u_stat_delta
	mov %rax, %r13
	mov $IRQ_STAT_NMI, %edi
	mov %r12, %rsi
	call u_stat_delta
	mov %r13, %rdx
	pop %r13
	pop %r12
	pop %rbx
	ret

# The NMI handler sends itself an NMI (blocked until the next IRET) and then IRETs from an interrupt: the second NMI
# arrives inside the first, finds "NMI executing" set and leaves the first a repeat. exc_nmi runs exactly twice.
	SELFTEST test_nmi_nested
test_nmi_nested:
	mov $IRQ_SELFTEST_NMI_NESTED, %edi
	call u_nmi_scenario
	mov %rdx, %rbx
	CHECK "nmi: a nested NMI: the handler runs exactly twice", %rax, $2
	CHECK "nmi: a nested NMI: one repeat through repeat_nmi", %rbx, $1
	ret

# An NMI that finds RSP inside the NMI stack: with DF clear, as at entry_SYSCALL_64's first instruction with a
# user-chosen RSP, it is a first NMI and handled; with DF set, as in an NMI's last instructions, it is taken for a
# nested one (and, there being no outer NMI to repeat it, not handled): DF alone decides.
	SELFTEST test_nmi_user_rsp
test_nmi_user_rsp:
	mov $IRQ_SELFTEST_NMI_STACK_DF_CLEAR, %edi
	call u_nmi_scenario
	mov %rdx, %rbx
	CHECK "nmi, a kernel-side scenario: RSP in the NMI stack, DF clear (a SYSCALL's user RSP): handled", %rax, $1
	CHECK "nmi, a kernel-side scenario: RSP in the NMI stack, DF clear (a SYSCALL's user RSP): not taken for nested", %rbx, $0
	mov $IRQ_SELFTEST_NMI_STACK_DF_SET, %edi
	call u_nmi_scenario
	mov %rax, %rbx
	mov %rdx, %r12
	CHECK "nmi, a kernel-side scenario: RSP in the NMI stack, DF set (an NMI's exit): taken for nested", %r12, $1
	CHECK "nmi, a kernel-side scenario: RSP in the NMI stack, DF set (an NMI's exit): not handled", %rbx, $0
	ret

	.section .user.data, "aw"
	.balign 4
u32_pause_result: .long 0
