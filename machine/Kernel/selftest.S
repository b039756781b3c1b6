# selftest.S: the user-mode self-test. selftest_main calls every function registered with SELFTEST, in the order
# the files below are included; each prints one `PASS name` or `FAIL name: detail` line per check on COM1 (through
# the write system call). At the end the program exits with the number of failures (debug-exit).
# To add checks: write selftest_AREA.S (user code in .user.text, data in .user.data, SELFTEST for each function,
# CHECK/PASS/FAIL to report) and include it below.

	.section .user.text, "ax"
	.globl selftest_main
selftest_main:
	.ifdef BENCH_GETPID
	# The benchmark's build (bench/ kernel): BENCH_GETPID round trips through the whole 64-bit path instead of the
	# self-test, then exit(0). It prints nothing, so the run's time is the system calls' (less a run with 0).
	mov $BENCH_GETPID, %ebx
	test %ebx, %ebx
	jz 2f
1:	mov $__NR_getpid, %eax
	syscall
	dec %ebx
	jnz 1b
2:	xor %edi, %edi
	mov $__NR_exit, %eax
	syscall
	.endif
	movq $__selftests_start, u_next_test	# in memory: a test may clobber every register but RSP
1:	mov u_next_test, %rax
	cmp $__selftests_end, %rax
	jae 2f
	addq $8, u_next_test
	call *(%rax)
	jmp 1b
2:	mov u_failures, %rdi
	mov $__NR_exit, %eax
	syscall
	ud2					# exit does not return

# u_check: RDI = name, RSI = actual, RDX = expected. "PASS name", or "FAIL name: got 0x... expected 0x...".
u_check:
	cmp %rsi, %rdx
	jne 1f
	jmp u_pass
1:	push %rbx
	push %r12
	mov %rsi, %rbx
	mov %rdx, %r12
	call u_fail_start
	mov $u_got, %esi
	call u_puts
	mov %rbx, %rax
	call u_puthex
	mov $u_expected, %esi
	call u_puts
	mov %r12, %rax
	call u_puthex
	mov $u_newline, %esi
	call u_puts
	pop %r12
	pop %rbx
	ret

# u_pass: RDI = name. "PASS name".
u_pass:
	push %rdi
	mov $u_pass_prefix, %esi
	call u_puts
	pop %rsi
	call u_puts
	mov $u_newline, %esi
	jmp u_puts

# u_fail: RDI = name, RSI = detail. "FAIL name: detail".
u_fail:
	push %rsi
	call u_fail_start
	pop %rsi
	call u_puts
	mov $u_newline, %esi
	jmp u_puts

# u_fail_start: RDI = name. Counts the failure and prints "FAIL name: ".
u_fail_start:
	incq u_failures
	push %rdi
	mov $u_fail_prefix, %esi
	call u_puts
	pop %rsi
	call u_puts
	mov $u_colon, %esi
	jmp u_puts

# u_puts: write the zero-terminated string at RSI to fd 1. Clobbers the caller-saved registers.
u_puts:
	mov %rsi, %rdx
1:	cmpb $0, (%rdx)
	je 2f
	inc %rdx
	jmp 1b
2:	sub %rsi, %rdx				# the length
	mov $1, %edi
	mov $__NR_write, %eax
	syscall
	ret

# u_puthex: write RAX as 0x and sixteen hex digits. Clobbers the caller-saved registers.
u_puthex:
	mov $u_hex_buffer + 2, %edi
	mov $16, %ecx
1:	rol $4, %rax
	mov %al, %dl
	and $0xf, %dl
	add $'0', %dl
	cmp $'9', %dl
	jbe 2f
	add $('a' - '9' - 1), %dl
2:	mov %dl, (%rdi)
	inc %rdi
	loop 1b
	mov $u_hex_buffer, %esi
	jmp u_puts

	.section .user.data, "aw"
	.balign 8
u_failures: .quad 0
u_next_test: .quad 0
u_hex_buffer: .asciz "0x0000000000000000"
u_pass_prefix: .asciz "PASS "
u_fail_prefix: .asciz "FAIL "
u_colon: .asciz ": "
u_got: .asciz "got "
u_expected: .asciz " expected "
u_newline: .asciz "\n"

	.include "selftest_syscall64.S"
	.include "selftest_exceptions.S"
	.include "selftest_compat.S"
	.include "selftest_irq.S"
