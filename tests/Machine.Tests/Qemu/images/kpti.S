# The KPTI round trip, for the benchmark (bench/, which assembles it with --defsym ROUND_TRIPS=N and runs it under
# QEMU and our machine) and, with a small count, for the differential suite. User code issues SYSCALL in a loop;
# entry_SYSCALL_64 does what a KPTI kernel's entry and exit do around the work: SWAPGS, stash the user RSP in the
# per-CPU area, switch to the kernel page tables, touch kernel-only memory, switch back to the user page tables,
# SWAPGS, SYSRETQ. When CPUID reports PCID, the CR3 values carry PCIDs and the no-flush bit 63 (SDM vol. 3
# §5.10.4.1), as Linux writes them, so a TLB that keeps translations per PCID need not start cold after each
# switch; QEMU 7.2's TCG reports no PCID (and would take bit 63 as part of the table address), so there each
# switch flushes. The entry finds both CR3 values in the per-CPU area, as it does not know which case holds.
# At the end the user raises INT 0x80, whose handler prints the count the kernel kept and exits.
	.include "longmode.inc"
	.ifndef ROUND_TRIPS
	.set ROUND_TRIPS, 1000
	.endif
	.set CR4_PCIDE, 1 << 17
	.set KERNEL_PCID, 1
	.set USER_PCID, 2
	.set CR3_NOFLUSH, 1 << 63
	.set KERNEL_DATA, 0x400000	# in the kernel's identity map only
	.set CPUID_PCID, 17		# CPUID.01H:ECX
	.set PERCPU_USER_RSP, 0
	.set PERCPU_KERNEL_CR3, 8
	.set PERCPU_USER_CR3, 16

	.code64
	.text
main64:
	# The user root maps the image's 2 MiB page alone, open to CPL 3: user code and data, and what the
	# entry needs before its CR3 switch (entry text, per-CPU area, IDT, GDT, TSS, kernel stack), as
	# Linux's cpu_entry_area. The kernel root is longmode.inc's identity map of the first GiB.
	movq $(user_pdpt + PTE_P + PTE_RW + PTE_US), user_pml4
	movq $(user_pd + PTE_P + PTE_RW + PTE_US), user_pdpt
	movq $(PTE_P + PTE_RW + PTE_US + PTE_PS), user_pd
	movq $0, KERNEL_DATA

	mov $0x80, %edi
	mov $finished, %esi
	mov $0xee00, %edx		# interrupt gate, DPL 3
	call set_gate

	mov $kernel_stack_top, %eax
	mov $entry_SYSCALL_64, %esi
	mov $percpu, %edi
	call syscall_init

	movq $pml4, percpu + PERCPU_KERNEL_CR3
	movq $user_pml4, percpu + PERCPU_USER_CR3
	mov $1, %eax
	cpuid
	bt $CPUID_PCID, %ecx
	jnc 1f
	mov %cr4, %rax			# CR3 holds PCID 0 here, as CR4.PCIDE may only be set then
	or $CR4_PCIDE, %eax
	mov %rax, %cr4
	movabs $(pml4 + KERNEL_PCID + CR3_NOFLUSH), %rax
	mov %rax, percpu + PERCPU_KERNEL_CR3
	movabs $(user_pml4 + USER_PCID + CR3_NOFLUSH), %rax
	mov %rax, percpu + PERCPU_USER_CR3
1:	mov percpu + PERCPU_USER_CR3, %rax
	btr $63, %rax			# the first load of a PCID must flush what it may hold
	mov %rax, %cr3
	mov $user_main, %esi
	mov $user_stack_top, %edi
	jmp enter_user

entry_SYSCALL_64:
	swapgs
	mov %rsp, %gs:PERCPU_USER_RSP
	mov %gs:PERCPU_KERNEL_CR3, %rsp
	mov %rsp, %cr3
	incq KERNEL_DATA
	mov %gs:PERCPU_USER_CR3, %rsp
	mov %rsp, %cr3
	mov %gs:PERCPU_USER_RSP, %rsp
	swapgs
	sysretq

finished:
	mov percpu + PERCPU_KERNEL_CR3, %rax
	mov %rax, %cr3
	mov KERNEL_DATA, %rax
	show "kpti round trips "
	mov $0x24, %al
	jmp exit

user_main:
	mov $ROUND_TRIPS, %ebx
	test %ebx, %ebx
	jz 2f
1:	syscall
	dec %ebx
	jnz 1b
2:	int $0x80

	.bss
	.align 4096
user_pml4: .skip 4096
user_pdpt: .skip 4096
user_pd: .skip 4096
percpu:	.skip 64
	.skip 4096
kernel_stack_top:
	.skip 4096
user_stack_top:
