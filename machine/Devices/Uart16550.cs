namespace Repl.Machine;

/// <summary>
/// A 16550A UART (National Semiconductor PC16550D data sheet) as a PC has at COM1, modelled at the register
/// level for the Linux 8250 driver and simple polled loops. Transmission is instantaneous: a byte written to
/// THR reaches the host at once, so THR empty and TEMT always read set. Bytes the host queues wait in an
/// unbounded receive queue (no overrun). Wider port accesses act as successive byte accesses, as on the ISA bus.
/// </summary>
public sealed class Uart16550(ushort basePort) : IPortDevice
{
    public const ushort Com1 = 0x3F8;
    public const int PortCount = 8;

    // Register offsets from the base port; the divisor latch replaces RBR/THR and IER while LCR.DLAB is set.
    const int RbrThr = 0, Ier = 1, IirFcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;

    // IER: enable received-data, THR-empty, line-status and modem-status interrupts.
    const byte IerReceivedData = 1 << 0, IerThrEmpty = 1 << 1, IerModemStatus = 1 << 3;
    // IIR: bit 0 clear when an interrupt is pending; the identification in bits 1-3; FIFOs enabled in 6-7.
    const byte IirNoInterrupt = 0x01, IirModemStatus = 0x00, IirThrEmpty = 0x02, IirReceivedData = 0x04, IirFifosEnabled = 0xC0;
    const byte FcrEnable = 1 << 0, FcrClearReceive = 1 << 1;
    const byte LcrDlab = 1 << 7;
    // MCR: DTR, RTS, OUT1, OUT2, LOOP.
    const byte McrDtr = 1 << 0, McrRts = 1 << 1, McrOut1 = 1 << 2, McrOut2 = 1 << 3, McrLoop = 1 << 4;
    const byte LsrDataReady = 1 << 0, LsrThrEmpty = 1 << 5, LsrTransmitterEmpty = 1 << 6;
    // MSR: deltas in bits 0-3, the lines CTS, DSR, RI, DCD in bits 4-7.
    const byte MsrDeltas = 0x0F, MsrCts = 1 << 4, MsrDsr = 1 << 5, MsrRi = 1 << 6, MsrDcd = 1 << 7;

    readonly Queue<byte> _receive = new();
    byte _ier, _lcr, _mcr, _scr, _fcr, _dll = 12 /* 9600 baud from 1.8432 MHz */, _dlm;
    byte _msrDeltas;
    /// <summary>The THR-empty interrupt condition: set when THR empties (or the interrupt is enabled with THR
    /// empty), cleared by a THR write or an IIR read that reports it (data sheet, table IV).</summary>
    bool _thrEmptyPending;

    /// <summary>Raised with each byte the guest transmits (not in loopback mode, where it returns to the receiver).</summary>
    public event Action<byte>? Transmitted;

    /// <summary>The UART's INTR output: an enabled interrupt condition is pending. (On a PC the line reaches the
    /// interrupt controller only while MCR.OUT2 is set; see <see cref="Out2"/>.)</summary>
    public bool InterruptPending => (InterruptIdentification() & IirNoInterrupt) == 0;

    /// <summary>MCR.OUT2, which a PC board uses to gate the UART's interrupt line.</summary>
    public bool Out2 => (_mcr & McrOut2) != 0;

    /// <summary>Queues bytes from the host for the guest to read from RBR.</summary>
    public void Receive(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            _receive.Enqueue(b);
    }

    public uint In(ushort port, int size)
    {
        uint value = 0;
        for (int i = 0; i < size; i++)
            value |= (uint)ReadRegister((port - basePort + i) & 7) << (8 * i);
        return value;
    }

    public void Out(ushort port, int size, uint value)
    {
        for (int i = 0; i < size; i++)
            WriteRegister((port - basePort + i) & 7, (byte)(value >> (8 * i)));
    }

    bool Dlab => (_lcr & LcrDlab) != 0;
    bool Loopback => (_mcr & McrLoop) != 0;

    byte ReadRegister(int register)
    {
        switch (register)
        {
            case RbrThr when Dlab: return _dll;
            case RbrThr: return _receive.TryDequeue(out byte b) ? b : (byte)0;
            case Ier when Dlab: return _dlm;
            case Ier: return _ier;
            case IirFcr:
                byte iir = InterruptIdentification();
                if ((iir & 0x0F) == IirThrEmpty)
                    _thrEmptyPending = false; // reading IIR while it reports THR empty clears that condition
                return (byte)(iir | ((_fcr & FcrEnable) != 0 ? IirFifosEnabled : 0));
            case Lcr: return _lcr;
            case Mcr: return _mcr;
            case Lsr: return (byte)(LsrThrEmpty | LsrTransmitterEmpty | (_receive.Count != 0 ? LsrDataReady : 0));
            case Msr:
                byte msr = (byte)(ModemLines() | _msrDeltas);
                _msrDeltas = 0; // reading MSR clears its delta bits
                return msr;
            default: return _scr;
        }
    }

    void WriteRegister(int register, byte value)
    {
        switch (register)
        {
            case RbrThr when Dlab: _dll = value; break;
            case RbrThr:
                if (Loopback)
                    _receive.Enqueue(value);
                else
                    Transmitted?.Invoke(value);
                // The byte is gone at once, so THR is empty again and the THR-empty condition rises anew.
                _thrEmptyPending = true;
                break;
            case Ier when Dlab: _dlm = value; break;
            case Ier:
                if ((value & IerThrEmpty) != 0 && (_ier & IerThrEmpty) == 0)
                    _thrEmptyPending = true; // enabling the interrupt with THR empty raises it
                _ier = (byte)(value & 0x0F);
                break;
            case IirFcr:
                // The other FCR bits take effect only with FCR0 set; turning the FIFOs on or off empties them.
                if (((value ^ _fcr) & FcrEnable) != 0 || (value & (FcrEnable | FcrClearReceive)) == (FcrEnable | FcrClearReceive))
                    _receive.Clear();
                _fcr = value;
                break;
            case Lcr: _lcr = value; break;
            case Mcr:
                byte before = ModemLines();
                _mcr = (byte)(value & 0x1F);
                RecordModemDeltas(before, ModemLines());
                break;
            case Lsr: break; // factory test only
            case Msr: break;
            default: _scr = value; break;
        }
    }

    /// <summary>CTS, DSR, RI and DCD. A host connection holds CTS, DSR and DCD active; in loopback mode they
    /// follow RTS, DTR, OUT1 and OUT2 instead, which is how drivers probe for a working UART.</summary>
    byte ModemLines()
    {
        if (!Loopback)
            return MsrCts | MsrDsr | MsrDcd;
        return (byte)(((_mcr & McrRts) != 0 ? MsrCts : 0) | ((_mcr & McrDtr) != 0 ? MsrDsr : 0)
                      | ((_mcr & McrOut1) != 0 ? MsrRi : 0) | ((_mcr & McrOut2) != 0 ? MsrDcd : 0));
    }

    /// <summary>DCTS, DDSR and DDCD record any change; TERI only the trailing edge of RI.</summary>
    void RecordModemDeltas(byte before, byte after)
    {
        byte changed = (byte)((before ^ after) >> 4);
        byte trailingRi = (byte)((before & ~after & MsrRi) >> 4);
        _msrDeltas |= (byte)((changed & 0x0B) | trailingRi);
    }

    /// <summary>IIR bits 0-3: the highest-priority enabled condition (no line errors arise, as nothing overruns).</summary>
    byte InterruptIdentification()
    {
        if ((_ier & IerReceivedData) != 0 && _receive.Count != 0)
            return IirReceivedData;
        if ((_ier & IerThrEmpty) != 0 && _thrEmptyPending)
            return IirThrEmpty;
        if ((_ier & IerModemStatus) != 0 && (_msrDeltas & MsrDeltas) != 0)
            return IirModemStatus;
        return IirNoInterrupt;
    }
}
