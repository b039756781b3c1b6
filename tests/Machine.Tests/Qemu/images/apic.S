# The local APIC at its default base (xAPIC, paging off): fixed self-IPIs held off by the TPR and ordered by
# priority with EOI, a self-NMI, the timer one-shot, counting and periodic.
# Only what the manual fixes is printed (no version register, no counts that depend on the clock's rate).

	.set APIC, 0xfee00000
	.set APIC_ID, APIC + 0x20
	.set APIC_TPR, APIC + 0x80
	.set APIC_PPR, APIC + 0xa0
	.set APIC_EOI, APIC + 0xb0
	.set APIC_SVR, APIC + 0xf0
	.set APIC_ICR_LOW, APIC + 0x300
	.set APIC_ICR_HIGH, APIC + 0x310
	.set APIC_LVT_TIMER, APIC + 0x320
	.set APIC_LVT_LINT0, APIC + 0x350
	.set APIC_LVT_LINT1, APIC + 0x360
	.set APIC_TIMER_INITIAL, APIC + 0x380
	.set APIC_TIMER_CURRENT, APIC + 0x390
	.set APIC_TIMER_DIVIDE, APIC + 0x3e0

	.set LVT_MASKED, 1 << 16
	.set LVT_PERIODIC, 1 << 17
	.set ICR_SELF, 1 << 18
	.set ICR_NMI, 4 << 8
	.set ICR_ASSERT, 1 << 14
	.set INTERRUPT_GATE, 0x8e00
	.set TRAP_GATE, 0x8f00

	.text
	.globl _start
_start:
	mov $stack_top, %esp
	# Our own GDT, so the gates can name a code selector whatever the loader's GDT was.
	lgdt gdt_descriptor
	ljmp $0x08, $1f
1:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	# Firmware leaves the 8259s wired to LINT0 with their timer unmasked: silence them.
	mov $0xff, %al
	out %al, $0x21
	out %al, $0xa1

	xor %ecx, %ecx
2:	mov $unexpected, %eax
	mov $INTERRUPT_GATE, %edx
	call set_gate
	inc %ecx
	cmp $256, %ecx
	jb 2b
	lidt idt_descriptor
	mov $2, %ecx
	mov $nmi, %eax
	call set_gate
	mov $0x30, %ecx
	mov $oneshot, %eax
	call set_gate
	mov $0x31, %ecx
	mov $periodic, %eax
	call set_gate
	# The fixed vectors go through trap gates: IF stays set in their handlers, so only the APIC's priorities
	# hold a lower vector off while a higher one is in service.
	mov $TRAP_GATE, %edx
	mov $0x45, %ecx
	mov $vector45, %eax
	call set_gate
	mov $0x51, %ecx
	mov $vector51, %eax
	call set_gate
	mov $0x62, %ecx
	mov $vector62, %eax
	call set_gate

	# Software-enabled, with LINT0 and LINT1 masked (firmware leaves them as ExtINT and NMI). The rule that a
	# software-disabled APIC keeps its LVT entries masked (SDM Vol. 3, 11.4.7.2) is not checked here: QEMU does
	# not follow it (LocalApicTests does).
	movl $0x1ff, APIC_SVR
	movl $LVT_MASKED, APIC_LVT_LINT0
	movl $LVT_MASKED, APIC_LVT_LINT1

	# A vector whose priority class does not exceed the TPR's waits until the TPR drops.
	movl $0x50, APIC_TPR
	sti
	movl $ICR_SELF | 0x45, APIC_ICR_LOW
	nop
	mov $s_held, %esi
	call puts
	movl $0, APIC_TPR
	mov $s_lowered, %esi
	call puts

	# Two vectors requested at once: the higher first; the lower only once the higher's EOI lowers the PPR.
	cli
	movl $ICR_SELF | 0x51, APIC_ICR_LOW
	movl $ICR_SELF | 0x62, APIC_ICR_LOW
	sti
	nop
	mov $s_both, %esi
	call puts

	# An NMI IPI to our own APIC ID.
	mov APIC_ID, %eax
	mov %eax, APIC_ICR_HIGH
	movl $ICR_ASSERT | ICR_NMI, APIC_ICR_LOW
	nop
	mov $s_after_nmi, %esi
	call puts

	# One-shot timer, divide by 1, woken from HLT.
	movl $0xb, APIC_TIMER_DIVIDE
	movl $0x30, APIC_LVT_TIMER
	movl $100000, APIC_TIMER_INITIAL
3:	hlt
	cmpb $0, timer_fired
	je 3b
	mov $s_oneshot, %esi
	call puts
	mov APIC_TIMER_CURRENT, %eax
	call puthex
	call newline

	# The current count falls while the timer runs masked.
	movl $LVT_MASKED | 0x30, APIC_LVT_TIMER
	movl $0xffffffff, APIC_TIMER_INITIAL
	mov APIC_TIMER_CURRENT, %ebx
	mov $1000, %ecx
4:	loop 4b
	mov APIC_TIMER_CURRENT, %eax
	movl $0, APIC_TIMER_INITIAL
	mov $s_falls, %esi
	cmp %ebx, %eax
	jb 5f
	mov $s_stuck, %esi
5:	call puts

	# Periodic timer: three ticks, each waking HLT.
	movl $LVT_PERIODIC | 0x31, APIC_LVT_TIMER
	movl $10000, APIC_TIMER_INITIAL
6:	hlt
	cmpl $3, ticks
	jb 6b
	cli
	movl $LVT_MASKED | 0x31, APIC_LVT_TIMER
	movl $0, APIC_TIMER_INITIAL
	mov $s_periodic, %esi
	call puts

	mov $0x10, %al
	jmp exit

# set_gate: IDT entry ECX -> handler EAX, type and attributes DX. Clobbers EAX and EDI.
set_gate:
	lea idt(,%ecx,8), %edi
	mov %ax, (%edi)
	movw $0x08, 2(%edi)
	mov %dx, 4(%edi)
	shr $16, %eax
	mov %ax, 6(%edi)
	ret

unexpected:
	mov $s_unexpected, %esi
	call puts
	mov $0x7f, %al
	jmp exit

nmi:
	push %esi
	mov $s_nmi, %esi
	call puts
	pop %esi
	iret

oneshot:
	movb $1, timer_fired
	movl $0, APIC_EOI
	iret

periodic:
	incl ticks
	movl $0, APIC_EOI
	iret

vector45:
	push $0x45
	jmp fixed
vector51:
	push $0x51
	jmp fixed
vector62:
	push $0x62
	jmp fixed

# fixed: prints the vector and the PPR while it is in service, signals EOI, and prints the vector again.
fixed:
	push %eax
	push %esi
	mov $s_in, %esi
	call puts
	mov 8(%esp), %eax
	call puthex
	mov $s_ppr, %esi
	call puts
	mov APIC_PPR, %eax
	call puthex
	call newline
	movl $0, APIC_EOI
	mov $s_out, %esi
	call puts
	mov 8(%esp), %eax
	call puthex
	call newline
	pop %esi
	pop %eax
	add $4, %esp
	iret

	.section .rodata
s_held:		.asciz "45 held off by TPR 50\n"
s_lowered:	.asciz "TPR lowered\n"
s_both:		.asciz "51 and 62 done\n"
s_after_nmi:	.asciz "after the self-NMI\n"
s_oneshot:	.asciz "one-shot timer fired; current count "
s_falls:	.asciz "current count falls\n"
s_stuck:	.asciz "current count stuck\n"
s_periodic:	.asciz "periodic timer ticked three times\n"
s_unexpected:	.asciz "unexpected interrupt\n"
s_nmi:		.asciz "NMI\n"
s_in:		.asciz "in "
s_ppr:		.asciz " PPR "
s_out:		.asciz "out "

	.data
	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	# 0x08: flat 32-bit code
	.quad 0x00cf92000000ffff	# 0x10: flat data
gdt_end:
gdt_descriptor:
	.word gdt_end - gdt - 1
	.long gdt
idt_descriptor:
	.word 256 * 8 - 1
	.long idt
timer_fired:	.byte 0
	.align 4
ticks:		.long 0

	.bss
	.align 8
idt:	.skip 256 * 8
	.align 16
	.skip 4096
stack_top:

	.include "serial.inc"
