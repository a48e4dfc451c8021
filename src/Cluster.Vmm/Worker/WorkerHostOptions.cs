namespace Cluster.Vmm.Worker;

/// <summary>Where and how a <see cref="WorkerHost"/> serves.</summary>
/// <param name="RuntimeDirectory">The folder of the socket (NAME.sock) and the record (NAME.json); created if needed.</param>
/// <param name="Name">The worker's name; null gives <c>w-PID</c>.</param>
public sealed record WorkerHostOptions(string RuntimeDirectory, string? Name = null)
{
    /// <summary>The protocol version announced in Hello (another than <see cref="WorkerProtocol.Version"/> only to test version skew).</summary>
    public uint ProtocolVersion { get; init; } = WorkerProtocol.Version;

    /// <summary>The uid a client must have; null: the worker's own.</summary>
    public uint? ClientUid { get; init; }

    /// <summary>
    /// The user the worker becomes once it listens (a worker started as root): uid and gid, no supplementary groups, for
    /// good. Before that it gives its socket and record to that user and makes the runtime directory writable by its group
    /// with the sticky bit, so that it can still update and remove its own files there. Null: it stays who it is.
    /// </summary>
    public (uint Uid, uint Gid)? RunAs { get; init; }

    /// <summary>How long a send to the client may block before the client is dropped as gone.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A worker that hears no request from any node for this long ends itself (null: never).</summary>
    public TimeSpan? AbandonAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>A file the worker appends its guest's run intervals to (<c>--run-log</c>, see <see cref="WorkerRunLog"/>); null: none.</summary>
    public string? RunLog { get; init; }

    /// <summary>The bound of each emulated vCPU's decoded-code cache, in pages (<c>--code-pages</c>).</summary>
    public int EmulatorCodePages { get; init; } = Emulated.EmulatedHypervisor.DefaultMaxCodePages;
}
