namespace Cluster.Vmm.Migration;

/// <summary>
/// The live-migration wire protocol between a <see cref="MigrationSource"/> and a
/// <see cref="MigrationTarget"/>, over one control connection (index 0, which also carries pages)
/// and <c>Connections - 1</c> extra data connections. Every frame is
/// <c>[u8 command][3 reserved zero bytes][u32 payload length, little-endian][payload]</c>
/// (<see cref="FrameStream"/>); an unknown or <see cref="MigrationCommand.Invalid"/> command ends
/// the session.
/// <code>
///   Source                                              Target
///     | Hello(version, session, connections, spec) ---->  | check version, backend, CPU, memory
///     |  &lt;---------------------------------- Accept(features) | create the machine (paused); bit 0:
///     |                                                   |   post-copy possible, else why not (UTF-8)
///     |  &lt;---------------------------------- Refuse(reason): end, VM keeps running on the source
///     | DataHello(session, index) on each extra socket -> |
///     | Pages ... (round 0: every page, zero pages as markers only)
///     | Sync(round) on every connection --------------->  | once every connection reached it:
///     |  &lt;---------------------------------- Synced(round) (the round is applied: end-to-end rate)
///     | Pages ... (dirty rounds: pages of get-and-clear dirty logs, full or XBZRLE delta)
///     | Sync / Synced after each of them                  |
///     |    [pause the vCPUs]
///   pre-copy (stop-and-copy):
///     | Pages ... (the last dirty pages)                  |
///     | Complete on every connection ------------------>  | wait until every connection is drained
///     | State(machine snapshot) ----------------------->  | restore vCPUs, VM and devices
///     |  &lt;---------------------------------- Ready      |
///     |    [Commit callback: ownership moves]             |
///     | Resume ---------------------------------------->  | resume the vCPUs
///     |  &lt;---------------------------------- Resumed    |
///     |    [stop and free the source machine]             |
///   post-copy (after zero or more pre-copy rounds; zero: no Pages, no Sync at all):
///     | Complete on every connection ------------------>  | wait until every connection is drained
///     | PostCopy(runs of missing pages) ... ----------->  | (several frames when many)
///     | State(machine snapshot) ----------------------->  | restore; mark the runs missing (their
///     |                                                   |   memory discarded; userfaultfd on KVM)
///     |  &lt;---------------------------------- Ready      |
///     |    [Commit callback: ownership moves; from here the source never resumes]
///     | Resume ---------------------------------------->  | resume the vCPUs at once
///     |  &lt;---------------------------------- Resumed    |
///     |  &lt;------------------- PageRequest(gpa...)       | a vCPU (or the VMM) touched a missing page
///     | Pages (requested pages first, then the rest in    | install each page still missing (never
///     |   the background; full or zero, never deltas) ->  |   over a page already here); wake waiters
///     | Complete (every missing page sent) ------------>  | check that none is missing
///     |  &lt;---------------------------------- PostCopyDone |
///     |    [stop and free the source machine]             |
///
///   Before Commit, either side may send Abort(reason) (or just close): the target disposes its
///   machine, the source resumes its vCPUs, and the VM runs on the source only. Once the target sent Ready it
///   cannot tell a close from a commit whose Resume was lost: without an Abort it keeps the machine paused and
///   asks its owner where the commit is recorded (MigrationTargetOptions.ResolveCommit; pre-copy), then resumes
///   or disposes it. The source's commit callback returns only on a commit and throws only when there was none:
///   a callback that returned is the commit, whatever happens to the connections after it.
///   After Commit in post-copy, the only full copy of the missing pages is on the paused source: a
///   connection lost then (or a timeout, or an Abort) leaves the VM nowhere. The target makes guest
///   memory inaccessible and stops its vCPUs with an internal-error exit "post-copy lost the source
///   with N pages missing" (never running on a page that did not come); the source stops its
///   machine. QEMU's post-copy behaves the same (short of its manual recovery).
/// </code>
/// </summary>
public static class MigrationProtocol
{
    /// <summary>The protocol version sent in Hello; a target refuses any other, naming both.
    /// 3: the Hello carries the machine's disks, and the State is a version-2 machine snapshot
    /// (device state in named, versioned sections).</summary>
    public const uint Version = 3;

    /// <summary>The largest payload a frame may declare (guards the reader's allocation).</summary>
    public const int MaxPayload = 16 << 20;

    /// <summary>Bytes of the frame header.</summary>
    public const int HeaderSize = 8;

    /// <summary>The highest command of this version; a frame with a higher one ends the session.</summary>
    public const MigrationCommand LastCommand = MigrationCommand.PostCopyDone;

    /// <summary>Bit of the Accept payload's u32: the target can run the VM before every page is there.</summary>
    public const uint AcceptPostCopy = 1;
}

/// <summary>The command of a frame. Values are part of the wire format.</summary>
public enum MigrationCommand : byte
{
    /// <summary>Reserved: never sent; a frame carrying it is a protocol error.</summary>
    Invalid = 0,
    /// <summary>Source to target on connection 0: version, session id, connection count and the machine spec (<see cref="MigrationHello"/>).</summary>
    Hello = 1,
    /// <summary>Target to source: the spec fits; the machine is created. u32 features (<see cref="MigrationProtocol.AcceptPostCopy"/>),
    /// then, without post-copy, why not (UTF-8).</summary>
    Accept = 2,
    /// <summary>Target to source: the spec does not fit; UTF-8 reason.</summary>
    Refuse = 3,
    /// <summary>Source to target on an extra connection: u64 session id, u32 connection index.</summary>
    DataHello = 4,
    /// <summary>A batch of page records (<see cref="PageCodec"/>).</summary>
    Pages = 5,
    /// <summary>Source to target on every connection: no more pages on it.</summary>
    Complete = 6,
    /// <summary>Source to target on connection 0: the machine snapshot (<see cref="Machine.MachineSnapshot.ToBytes"/>).</summary>
    State = 7,
    /// <summary>Target to source: memory and state are loaded; the machine waits for Resume.</summary>
    Ready = 8,
    /// <summary>Source to target: ownership is committed; run.</summary>
    Resume = 9,
    /// <summary>Target to source: the machine runs on the target.</summary>
    Resumed = 10,
    /// <summary>Either way: the migration is abandoned; UTF-8 reason.</summary>
    Abort = 11,
    /// <summary>Source to target on every connection after a pre-copy round: u32 round number.</summary>
    Sync = 12,
    /// <summary>Target to source on connection 0: every connection has applied the round's pages; u32 round number.</summary>
    Synced = 13,
    /// <summary>Source to target on connection 0, after Complete: pages the target lacks, as runs of
    /// <c>u64 gpa, u64 page count</c>; one frame or more, before State.</summary>
    PostCopy = 14,
    /// <summary>Target to source on connection 0 during post-copy: u64 guest-physical addresses of pages a
    /// vCPU or the VMM waits for.</summary>
    PageRequest = 15,
    /// <summary>Target to source on connection 0: every missing page has arrived; post-copy is over.</summary>
    PostCopyDone = 16,
}
