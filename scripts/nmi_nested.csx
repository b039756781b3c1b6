// A nested NMI in the entry kernel, watched from outside. The self-test (machine/Kernel/selftest_irq.S) has the NMI
// handler send itself a second NMI, which waits (NMIs stay blocked after an NMI's delivery), and then IRET from an
// interrupt: any IRET unblocks NMIs, so the second NMI arrives inside the first, on the same IST stack. asm_exc_nmi
// (nmi.S) does not run the handler a second time on top of the first: it finds "NMI executing" set, points the
// first NMI's final IRET at repeat_nmi and returns at once; the first NMI then runs exc_nmi once more from there.
// The machine is the one `repl run` boots: the entry kernel, whose self-test runs this case on its own.

Break("nmi_selftest_nested");                   // the kernel side of irq_selftest(IRQ_SELFTEST_NMI_NESTED)
var stop = Continue();
Expect(stop.Kind == StopKind.Breakpoint && Cpu.Rip == Sym["nmi_selftest_nested"], $"the self-test reached the scenario ({stop})");

var nmis = new List<InterruptDelivered>();
On.Exception += e => { if (e.Vector == Vector.NMI) nmis.Add(e); };
var irets = new List<ControlTransfer>();
On.Transfer += t => { if (t.Kind == TransferKind.Iret) irets.Add(t); };
int handlerRuns = 0;
On.Instruction(Sym["exc_nmi"], () => handlerRuns++);
var nmisBlockedAtRepeat = new List<bool>();
On.Instruction(Sym["repeat_nmi"], () => nmisBlockedAtRepeat.Add(Machine.State.NmiBlocked));

Break("test_nmi_user_rsp");                     // the next self-test function, back in user mode
stop = Continue();
Expect(stop.Kind == StopKind.Breakpoint && Cpu.Rip == Sym["test_nmi_user_rsp"], $"the scenario ran to its end ({stop})");

Expect(nmis.Count == 2, $"two NMIs were delivered ({nmis.Count})");
Expect(nmis[0].From.Cpl == 0 && nmis[0].To.Rip == Sym["asm_exc_nmi"], "the first interrupted the kernel, which sent it");
ulong second = nmis[1].ReturnRip;
Expect(second > Sym["exc_nmi"] && second < Sym["apic_send_nmi_self"], $"the second interrupted exc_nmi, right after the IRET that unblocked it (0x{second:x})");
Expect(nmis[1].To.Rsp == nmis[0].To.Rsp, "both frames went to the same place: the top of the NMI stack (IST)");
Expect(handlerRuns == 2, $"exc_nmi ran twice ({handlerRuns}), not once per NMI on top of each other");
Expect(nmisBlockedAtRepeat.SequenceEqual([true, false]),
    "repeat_nmi was entered twice: falling through from first_nmi with NMIs blocked, then by the first NMI's final IRET, NMIs unblocked");
Expect(irets.Any(i => i.To.Rip == Sym["repeat_nmi"]), "an IRET went to repeat_nmi: the frame the second NMI rewrote");
