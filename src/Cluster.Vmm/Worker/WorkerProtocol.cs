namespace Cluster.Vmm.Worker;

/// <summary>
/// The control protocol between a node (<see cref="WorkerClient"/>) and a VMM worker process
/// (<see cref="WorkerHost"/>, <c>cluster-node vmm serve</c>) that owns one VM, over a Unix stream socket
/// (<c>DIR/NAME.sock</c>) that accepts peers of one uid only (SO_PEERCRED: the worker's own, or the node's given with
/// <c>--client-uid</c> when the worker runs as another user). One client at a
/// time: a new connection replaces the old one; a closed connection never stops the guest.
/// Every frame is <c>[u8 type][3 reserved zero bytes][u32 request id][u32 payload length][payload]</c>,
/// little-endian (<see cref="WorkerChannel"/>); payloads are <see cref="System.IO.BinaryWriter"/>
/// fields in the order <see cref="WorkerCodec"/> writes them (strings length-prefixed UTF-8, a nullable
/// value as a bool then the value). An unknown or <see cref="WorkerMessageType.Invalid"/> type ends the connection.
/// A frame may carry file descriptors (SCM_RIGHTS, sent with its first bytes): only Create and ListenIncoming do, /dev/kvm
/// and the open files of their disks (image and backing chain), listed at the end of the payload in the descriptors'
/// order; the worker opens those disks over them and nothing by path. Descriptors on any other request are refused.
/// <code>
///   Client (node)                                        Worker
///     | Hello(id, u32 client version) ----------------->  |
///     |  &lt;------- Reply(id, u32 worker version, i32 pid, name)  client accepts Version or Version - 1
///     | Create(id, WorkerCreate) ---------------------->  | machine created (Created), permit armed
///     |  &lt;------------------------------------ Reply(id) or Error(id, message)
///     | Start / Pause / Resume / Stop / RenewPermit ...   | one reply per request, in any order
///     |  &lt;------------- SerialOutput(0, i64 offset, bytes)  events: request id 0, any time
///     |  &lt;------------- Exited(0, MachineExit) / PermitLapsed(0)
///   outgoing migration:
///     | MigrateOut(id, host, port, options, credentials) ->  | MigrationSource on its machine (TLS, pin, token)
///     |  &lt;------------- MigrationProgress(0, progress) ...
///     |  &lt;------------- CommitRequest(0, u32 id of MigrateOut)  target Ready: ownership may move
///     | CommitDone(id2, bool ok, error) --------------->  | ok: Resume the target; else abort
///     |  &lt;------------------------------------ Reply(id2)
///     |  &lt;------------------------------------ Reply(id, MigrationResult)
///   incoming migration:
///     | ListenIncoming(id, WorkerIncoming) ------------>  | TcpListener bound, one-time token and certificate made,
///     |                                                   |   MigrationTarget waits for the reserved machine
///     |  &lt;------------------------------------ Reply(id, i32 port, credentials)
///     |  &lt;------------- IncomingCommitUnknown(0, u32 id)    Ready sent, no Resume nor Abort came: did it commit?
///     | IncomingCommitResolved(id2, u32 id, bool committed) ->  | true: resume the paused VM here; false: free it
///     |  &lt;------------- IncomingResumed(0, u32 id)          the VM runs here
///     |  &lt;------------- IncomingFinished(0, u32 id, WorkerIncomingResult)
///     | Shutdown(id) ---------------------------------->  | stop, dispose, reply, exit 0
/// </code>
/// Request payloads: Hello u32 version; Create <see cref="WorkerCreate"/>; Start, Pause, Resume, Stop,
/// SaveState, Stats, Info, Shutdown, MigrateCancel, IncomingCancel none; SerialInput bytes (the rest of
/// the payload); RenewPermit i64 milliseconds; MigrateOut string host, i32 port, <see cref="WorkerMigrationOptions"/>, credentials;
/// CommitDone bool ok, string error; ListenIncoming <see cref="WorkerIncoming"/>; IncomingCommitResolved u32 id of the ListenIncoming,
/// bool committed.
/// Reply payloads: SaveState the <see cref="Machine.MachineSnapshotCodec"/> bytes; Stats <see cref="WorkerStats"/>;
/// Info <see cref="WorkerInfo"/>; SerialInput i32 bytes accepted; MigrateOut <see cref="Migration.MigrationResult"/>;
/// ListenIncoming i32 port, credentials; the others none. Error: string message. Credentials
/// (<see cref="Migration.MigrationCredentials"/>): bytes token (32), bool pinned, then when pinned bytes SHA-256 pin (32).
/// Versions: 1, the first; 2 adds to Create and ListenIncoming, after their fields, the descriptors passed: bool /dev/kvm
/// (then the first descriptor is /dev/kvm, for a worker of <c>--backend kvm-passed</c>), i32 disk count (the machine's),
/// then per disk i32 file count and per file string path, bool writable (0 files: the worker opens that disk by path). A client of version 2 speaks version 1 to a worker of version 1 (paths, no descriptors).
/// 3: authenticated, encrypted migration streams: ListenIncoming adds bool encrypted before the descriptors, and its reply
/// and MigrateOut carry the credentials; the expected memory size of ListenIncoming must be the machine's own. A client of
/// version 3 still drove a worker of version 2 (a re-attached guest) but neither migrated it out nor in.
/// 4: Create and ListenIncoming add, after the descriptors, the machine's NICs: i32 count, then per NIC string MAC, string
/// tap name, i32 MTU (the worker opens each tap by name). A client of version 4 drives a worker of version 3 but gives it
/// no machine with NICs.
/// 5: the Stats reply adds, after its fields, the machine's I/O counters (<see cref="Devices.IoCounters"/>): i64 disk bytes
/// read, written, disk reads, writes, net bytes received, sent, frames received, sent (all zero before the worker has a
/// machine). A client of version 5 reads a version-4 worker's Stats without them (<see cref="WorkerStats.Io"/> null).
/// 6: an incoming migration whose commit outcome is unknown to the worker (Ready sent, then the source's connection lost
/// without Abort) keeps its machine paused and asks the client (IncomingCommitUnknown), which answers from the VM's journal
/// (IncomingCommitResolved); only to a client that said version 6 or later in its Hello (an older one is not asked: the
/// machine is freed at once, as before).
/// </summary>
public static class WorkerProtocol
{
    /// <summary>The version this side speaks; a client also accepts a worker one version back.</summary>
    public const uint Version = 6;

    /// <summary>Bytes of a frame header.</summary>
    public const int HeaderSize = 12;

    /// <summary>The largest payload a frame may declare (a saved state of many vCPUs fits).</summary>
    public const int MaxPayload = 64 << 20;

    /// <summary>Bytes of serial output the worker keeps for a client that re-attaches.</summary>
    public const int ConsoleHistoryBytes = 64 << 10;

    /// <summary>The highest message type of this version.</summary>
    public const WorkerMessageType LastType = WorkerMessageType.IncomingCommitUnknown;

    /// <summary>Whether a client of <see cref="Version"/> works with a worker speaking <paramref name="worker"/>.</summary>
    public static bool Accepts(uint worker) => worker == Version || worker + 1 == Version;
}

/// <summary>The type of a frame. Values are part of the wire format.</summary>
public enum WorkerMessageType : byte
{
    /// <summary>Reserved: never sent.</summary>
    Invalid = 0,
    /// <summary>Request: the version exchange, first on every connection.</summary>
    Hello = 1,
    /// <summary>Request: create the machine of a <see cref="WorkerCreate"/>.</summary>
    Create = 2,
    /// <summary>Request: start the vCPUs.</summary>
    Start = 3,
    /// <summary>Request: pause the vCPUs.</summary>
    Pause = 4,
    /// <summary>Request: resume paused vCPUs (refused while the run permit is lapsed).</summary>
    Resume = 5,
    /// <summary>Request: stop the vCPUs for good; the worker stays until Shutdown.</summary>
    Stop = 6,
    /// <summary>Request: the paused machine's state as snapshot bytes.</summary>
    SaveState = 7,
    /// <summary>Request: bytes for the guest's serial console.</summary>
    SerialInput = 8,
    /// <summary>Request: <see cref="WorkerStats"/>.</summary>
    Stats = 9,
    /// <summary>Request: <see cref="WorkerInfo"/> with the console history.</summary>
    Info = 10,
    /// <summary>Request: the run permit is valid for the given milliseconds from now.</summary>
    RenewPermit = 11,
    /// <summary>Request: stop the guest, free the machine and exit 0.</summary>
    Shutdown = 12,
    /// <summary>Request: migrate the VM to a target; the reply comes at the end.</summary>
    MigrateOut = 13,
    /// <summary>Request: cancel the outgoing migration (before the commit).</summary>
    MigrateCancel = 14,
    /// <summary>Request: the answer to a CommitRequest.</summary>
    CommitDone = 15,
    /// <summary>Request: listen for an incoming migration.</summary>
    ListenIncoming = 16,
    /// <summary>Request: stop waiting for or receiving an incoming migration.</summary>
    IncomingCancel = 17,
    /// <summary>Request: the answer to an IncomingCommitUnknown: u32 id of the ListenIncoming, bool committed.</summary>
    IncomingCommitResolved = 18,
    /// <summary>Reply to the request of the same id; its payload depends on the request.</summary>
    Reply = 64,
    /// <summary>Reply: the request failed; string message.</summary>
    Error = 65,
    /// <summary>Event: i64 absolute offset of the first byte, then the bytes.</summary>
    SerialOutput = 96,
    /// <summary>Event: the machine ended (<see cref="Machine.MachineExit"/>).</summary>
    Exited = 97,
    /// <summary>Event: <see cref="Migration.MigrationProgress"/> of the outgoing migration.</summary>
    MigrationProgress = 98,
    /// <summary>Event: u32 id of the MigrateOut; the target is ready, answer with CommitDone.</summary>
    CommitRequest = 99,
    /// <summary>Event: u32 id of the ListenIncoming; the incoming VM runs here.</summary>
    IncomingResumed = 100,
    /// <summary>Event: u32 id of the ListenIncoming, then <see cref="WorkerIncomingResult"/>.</summary>
    IncomingFinished = 101,
    /// <summary>Event: the run permit expired; the guest is paused until renewed and resumed.</summary>
    PermitLapsed = 102,
    /// <summary>Event: u32 id of the ListenIncoming; the source's Resume did not come after Ready, answer with IncomingCommitResolved.</summary>
    IncomingCommitUnknown = 103,
}
