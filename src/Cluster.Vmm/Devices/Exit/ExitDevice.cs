using System.Buffers.Binary;

namespace Cluster.Vmm.Devices.Exit;

/// <summary>
/// The guest's way out with a status code, at port <see cref="DefaultPort"/> (0xf4, where QEMU puts
/// isa-debug-exit). An OUT of any width ends the machine with the written value as the exit status
/// (unlike QEMU, which reports (value &lt;&lt; 1) | 1). Only the first write counts. Reads return all ones.
/// </summary>
public sealed class ExitDevice : IPortDevice, ISnapshottable
{
    /// <summary>The port the machine puts the device at.</summary>
    public const ushort DefaultPort = 0xf4;

    private const byte StateVersion = 1;
    private readonly object _gate = new();
    private bool _requested;
    private int _status;

    /// <summary>Raised once, on the vCPU thread that wrote, with the status.</summary>
    public event Action<int>? ExitRequested;

    /// <summary>The status written by the guest, once it has written one.</summary>
    public int? Status { get { lock (_gate) return _requested ? _status : null; } }

    /// <inheritdoc />
    public string Name => "exit";

    /// <inheritdoc />
    int ISnapshottable.StateVersion => StateVersion;

    /// <inheritdoc />
    public ulong Read(ushort offset, int size) => IoBus.AllOnes(size);

    /// <inheritdoc />
    public void Write(ushort offset, int size, ulong value)
    {
        int status = (int)(uint)value;
        lock (_gate)
        {
            if (_requested) return;
            _requested = true;
            _status = status;
        }
        ExitRequested?.Invoke(status);
    }

    /// <inheritdoc />
    public byte[] SaveState()
    {
        var blob = new byte[6];
        blob[0] = StateVersion;
        lock (_gate)
        {
            blob[1] = _requested ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(2), _status);
        }
        return blob;
    }

    /// <inheritdoc />
    public void RestoreState(ReadOnlySpan<byte> state)
    {
        if (state.Length != 6 || state[0] != StateVersion)
            throw new VmmException($"exit device state of {state.Length} bytes (version {(state.Length > 0 ? state[0] : 0)}) is not supported", "exit-restore");
        lock (_gate)
        {
            _status = BinaryPrimitives.ReadInt32LittleEndian(state[2..]);
            _requested = state[1] != 0;
        }
    }
}
