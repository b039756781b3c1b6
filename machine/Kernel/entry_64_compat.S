# entry_64_compat.S: the three ways 32-bit (compatibility-mode) code enters the 64-bit kernel, and the SYSRETL exit.
#
# - int $0x80 (entry_INT80_compat): a DPL 3 interrupt gate, usable from compatibility and 64-bit mode. The processor
#   switches to TSS.RSP0 (the trampoline stack) and pushes a full interrupt frame, so it is the simplest path.
# - SYSENTER (entry_SYSENTER_compat, Intel; AMD raises #UD in long mode): loads CS, SS, RSP and RIP from the
#   SYSENTER MSRs and clears IF, RF and VM — nothing else. It saves no return address and no user stack pointer,
#   and it leaves TF set, so a user single-stepping into SYSENTER makes the entry trap (#DB at CPL 0) on its first
#   instruction. Both are handled as Linux does: the user enters through __kernel_vsyscall (below, the kernel's user-
#   mode stub, Linux's vDSO function), which parks ESP in EBP and whose landing pad is where the kernel returns; and
#   the #DB handler lets the single steps in [__begin_SYSENTER_singlestep_region, __end_SYSENTER_singlestep_region],
#   the few instructions that run before the entry clears TF with POPF, go on (exc_debug_kernel leaves alone any step
#   inside .entry.text, which holds the region).
# - SYSCALL from compatibility mode (entry_SYSCALL_compat, via CSTAR; AMD only, Intel raises #UD): like the 64-bit
#   SYSCALL, RIP in RCX and RFLAGS in R11, SFMASK applied. ECX is lost, so the second argument travels in EBP.
#
# The i386 ABI: number in EAX (the low 32 bits only, as Linux's compat entries take it), arguments in EBX, ECX, EDX,
# ESI, EDI, EBP, result in EAX (the fast entries find EBP's on the user stack: do_fast_syscall_32). Every entry saves a
# full pt_regs frame, so the IRET exit restores every register but RAX — R8-R15 included, which 64-bit code calling
# int $0x80 relies on (Linux guarantees it).

	.section .entry.text, "ax"

	.globl entry_SYSENTER_compat
	.type entry_SYSENTER_compat, @function
entry_SYSENTER_compat:
	# RSP = SYSENTER_ESP, the top of the trampoline stack, which both roots map; GS and CR3 are still the user's.
	# First clear TF (and NT, AC, DF, which SYSENTER does not filter either), keeping the user's RFLAGS for the
	# frame: until the POPF retires, a user TF makes every instruction trap to the #DB handler, which lets these
	# steps go on.
__begin_SYSENTER_singlestep_region:
	pushfq					# the user's RFLAGS, TF included (IF, RF and VM are already clear)
	pushq $X86_EFLAGS_FIXED
	popfq					# the trap after this POPF (TF was set as it began) reports the next RIP
__end_SYSENTER_singlestep_region:
	swapgs
	pushq %rax
	SWITCH_TO_KERNEL_CR3 %rax
	mov %rsp, %rax				# (%rax) the user's RAX, 8(%rax) the user's RFLAGS
	mov %gs:PER_CPU_TOP_OF_STACK, %rsp
	# The frame SYSRETL or IRET will return from: to the landing pad of __kernel_vsyscall, on the stack whose
	# pointer __kernel_vsyscall left in EBP (SYSENTER forgot both).
	pushq $__USER32_DS
	mov %ebp, %ebp				# EBP's upper half is undefined after compatibility mode: only ESP was the user's
	pushq %rbp
	pushq 8(%rax)
	orq $X86_EFLAGS_IF, (%rsp)		# SYSENTER cleared IF; user mode always runs with it set
	pushq $__USER32_CS
	pushq $sysenter_landing_pad
	mov (%rax), %rax
	pushq %rax				# orig_ax: the number
	PUSH_REGS rax=$-ENOSYS
	mov %rsp, %rdi
	call do_fast_syscall_32
	jmp sysret32_checks
	.size entry_SYSENTER_compat, . - entry_SYSENTER_compat

	.globl entry_SYSCALL_compat
	.type entry_SYSCALL_compat, @function
entry_SYSCALL_compat:
	swapgs
	mov %esp, %esp				# the user's stack pointer is ESP: RSP's upper half is undefined after compatibility mode
	mov %rsp, %gs:PER_CPU_USER_RSP
	SWITCH_TO_KERNEL_CR3 %rsp
	mov %gs:PER_CPU_TOP_OF_STACK, %rsp
	pushq $__USER32_DS
	pushq %gs:PER_CPU_USER_RSP
	pushq %r11				# the user's RFLAGS, as SYSCALL saved them
	pushq $__USER32_CS
	pushq %rcx				# the return EIP, as SYSCALL saved it
	pushq %rax				# orig_ax: the number
	PUSH_REGS rax=$-ENOSYS
	mov %rbp, RCX(%rsp)			# SYSCALL took ECX for the return address: the second argument came in EBP
	mov %rsp, %rdi
	call do_fast_syscall_32

# sysret32_checks: return from the fast compat entries with SYSRETL when the frame allows it. SYSRETL loads EIP from
# ECX and RFLAGS from R11 (both taken from the frame here, so the user's ECX and R11 are lost, as the ABI of both
# instructions says), CS = __USER32_CS and SS = __USER_DS. It cannot restore RF, and with TF it would trap after
# the next user instruction instead of reporting the return itself, so frames with either take IRET, as do frames a
# system call changed to another CS or SS, or an RIP beyond 32 bits.
sysret32_checks:
	cmpq $__USER32_CS, CS(%rsp)
	jne swapgs_restore_regs_and_return_to_usermode
	cmpq $__USER_DS, SS(%rsp)
	jne swapgs_restore_regs_and_return_to_usermode
	testq $(X86_EFLAGS_RF | X86_EFLAGS_TF), EFLAGS(%rsp)
	jnz swapgs_restore_regs_and_return_to_usermode
	movl RIP(%rsp), %ecx
	cmpq %rcx, RIP(%rsp)
	jne swapgs_restore_regs_and_return_to_usermode

	.globl sysret32_from_system_call
sysret32_from_system_call:
	POP_REGS
	movl RIP - RDI(%rsp), %ecx
	movq EFLAGS - RDI(%rsp), %r11
	SYSRET_VIA_TRAMPOLINE sysretl
	.size entry_SYSCALL_compat, . - entry_SYSCALL_compat

	.globl entry_INT80_compat
	.type entry_INT80_compat, @function
entry_INT80_compat:
	# The gate cleared IF, TF and NT; AC (which would let the kernel touch user pages under SMAP) and DF (which the
	# string instructions follow) are still the user's.
	pushq $X86_EFLAGS_FIXED
	popfq
	swapgs					# only user code uses this gate
	pushq %rdi
	SWITCH_TO_KERNEL_CR3 %rdi
	# Move the hardware frame from the trampoline stack to the thread stack: 8(%rdi) is its RIP.
	mov %rsp, %rdi
	mov %gs:PER_CPU_TOP_OF_STACK, %rsp
	pushq 8 + SS - RIP(%rdi)
	pushq 8 + RSP - RIP(%rdi)
	pushq 8 + EFLAGS - RIP(%rdi)
	pushq 8 + CS - RIP(%rdi)
	pushq 8 + RIP - RIP(%rdi)
	mov (%rdi), %rdi
	pushq %rax				# orig_ax: the number
	PUSH_REGS rax=$-ENOSYS
	mov %rsp, %rdi
	call do_syscall_32
	jmp swapgs_restore_regs_and_return_to_usermode	# always IRET: it restores every register, R8-R15 too
	.size entry_INT80_compat, . - entry_INT80_compat

	IDT_GATE IA32_SYSCALL_VECTOR, entry_INT80_compat, dpl=3

	.section .text.kernel, "ax"
# do_syscall_32: RDI = the frame; the number is the low 32 bits of its ORIG_RAX (unsigned: a negative int is out of
# range).
do_syscall_32:
	mov ORIG_RAX(%rdi), %esi
	mov $ia32_sys_call_table, %edx
	mov $NR_compat_syscalls, %ecx
	jmp do_syscall

# do_fast_syscall_32: RDI = the frame of SYSENTER or compat SYSCALL. Their callers have used EBP for something else
# (SYSENTER: the stack pointer; SYSCALL: the second argument) after pushing it, so the sixth argument is read from the
# user stack at ESP into the frame's RBP slot, as Linux's do_fast_syscall_32 does; a stack that cannot be read fails
# the call with -EFAULT.
do_fast_syscall_32:
	push %rbx
	mov %rdi, %rbx
	pushq $0
	mov %rsp, %rdi
	mov RSP(%rbx), %esi			# ESP, zero-extended: a user address
	mov $4, %ecx
	call copy_from_user
	test %rax, %rax
	jnz 1f
	pop %rax
	mov %rax, RBP(%rbx)
	mov %rbx, %rdi
	pop %rbx
	jmp do_syscall_32
1:	mov %rax, RAX(%rbx)
	add $8, %rsp
	pop %rbx
	ret

# ia32_native_args: RDI = a compat frame, RAX = a native handler. Runs the handler on a copy of the frame whose 64-bit
# argument slots (RDI, RSI, RDX, R10, R8, R9) hold the 32-bit arguments (EBX, ECX, EDX, ESI, EDI, EBP) zero-extended,
# as Linux's __ia32_ wrappers hand a native system call its arguments. SYSCALL_IA32 registers handlers this way.
ia32_native_args:
	push %rbx
	mov %rdi, %rbx
	sub $SIZEOF_PTREGS, %rsp
	mov %rbx, %rsi
	mov %rsp, %rdi
	mov $(SIZEOF_PTREGS / 8), %ecx
	rep movsq
	movl RBX(%rbx), %ecx
	mov %rcx, RDI(%rsp)
	movl RCX(%rbx), %ecx
	mov %rcx, RSI(%rsp)
	movl RDX(%rbx), %ecx
	mov %rcx, RDX(%rsp)
	movl RSI(%rbx), %ecx
	mov %rcx, R10(%rsp)
	movl RDI(%rbx), %ecx
	mov %rcx, R8(%rsp)
	movl RBP(%rbx), %ecx
	mov %rcx, R9(%rsp)
	mov %rsp, %rdi
	call *%rax
	add $SIZEOF_PTREGS, %rsp
	pop %rbx
	ret

# ---- __kernel_vsyscall: the kernel's user-mode system-call stub for 32-bit code (Linux keeps it in the vDSO) ----
# SYSENTER returns nowhere by itself: the kernel sends every SYSENTER back to sysenter_landing_pad with ESP = EBP.
# The stub saves the registers the return clobbers (ECX, EDX: SYSRETL's ECX; EBP: the stack pointer) and restores
# them there. Called with the i386 registers set, returns EAX; on AMD (no SYSENTER in long mode) it raises #UD.
	.section .user.text, "ax"
	.code32
	.globl __kernel_vsyscall
	.type __kernel_vsyscall, @function
__kernel_vsyscall:
	push %ecx
	push %edx
	push %ebp
	mov %esp, %ebp
sysenter_insn:
	sysenter
	.globl sysenter_landing_pad
sysenter_landing_pad:
	pop %ebp
	pop %edx
	pop %ecx
	ret
	.size __kernel_vsyscall, . - __kernel_vsyscall
	.code64
