namespace Cluster.Vmm.Devices.VirtioNet;

/// <summary>What a virtio-net device counts (its metrics, beside the virtio ones of <see cref="Virtio.VirtioDevice"/>).</summary>
public enum NetCounter
{
    /// <summary>Frames placed in the driver's buffers, and their bytes (without the header).</summary>
    RxFrames, RxBytes,
    /// <summary>Frames dropped because the backlog was full or no driver could receive.</summary>
    RxDropped,
    /// <summary>Frames over MTU + 18, or too large for the driver's buffer without MRG_RXBUF.</summary>
    RxOversize,
    /// <summary>Frames the receive filter (CTRL_RX) turned away.</summary>
    RxFiltered,
    /// <summary>Frames the tap handed over malformed, and tap failures.</summary>
    RxErrors,
    /// <summary>The most frames the backlog held at once.</summary>
    RxBacklogPeak,
    /// <summary>Frames written to the tap, and their bytes.</summary>
    TxFrames, TxBytes,
    /// <summary>Frames the tap refused (its link down).</summary>
    TxDropped,
    /// <summary>Frames over MTU + 18.</summary>
    TxOversize,
    /// <summary>Frames shorter than an Ethernet header or with offload flags that were not negotiated.</summary>
    TxMalformed,
    /// <summary>Control commands, and those that were acked with VIRTIO_NET_ERR.</summary>
    CtrlCommands, CtrlErrors,
    /// <summary>RARPs written to the tap after a restore.</summary>
    Announces,
}

/// <summary>The counters of one virtio-net device, updated from any thread.</summary>
internal sealed class VirtioNetCounters
{
    private static readonly string[] Names =
    [
        "rx_frames", "rx_bytes", "rx_dropped", "rx_oversize", "rx_filtered", "rx_errors", "rx_backlog_peak",
        "tx_frames", "tx_bytes", "tx_dropped", "tx_oversize", "tx_malformed", "ctrl_commands", "ctrl_errors", "announces",
    ];

    private readonly long[] _values = new long[Names.Length];

    /// <summary>Adds <paramref name="n"/> to <paramref name="counter"/>.</summary>
    public void Add(NetCounter counter, long n = 1) => Interlocked.Add(ref _values[(int)counter], n);

    /// <summary>The value of <paramref name="counter"/> now.</summary>
    public long Read(NetCounter counter) => Interlocked.Read(ref _values[(int)counter]);

    /// <summary>Raises <paramref name="counter"/> to <paramref name="value"/> if it is below.</summary>
    public void Max(NetCounter counter, long value)
    {
        ref long slot = ref _values[(int)counter];
        for (long seen = Interlocked.Read(ref slot); seen < value; seen = Interlocked.Read(ref slot))
            if (Interlocked.CompareExchange(ref slot, value, seen) == seen) return;
    }

    /// <summary>Every counter by name.</summary>
    public IEnumerable<KeyValuePair<string, long>> All() => Names.Select((name, i) => new KeyValuePair<string, long>(name, Interlocked.Read(ref _values[i])));
}
