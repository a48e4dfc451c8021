using System.Collections.Immutable;
using Akka.Actor;

namespace Cluster.Actors.Migration;

/// <summary>
/// One incoming migration as this host keeps it for the VM actor that will own the VM here: the task
/// completes with the running guest once the target resumed it, or with null when the migration failed.
/// </summary>
public sealed class IncomingMigration(string vmId, string migrationId, long expectedEpoch)
{
    private readonly TaskCompletionSource<ParkedGuest?> _arrival = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile byte[]? _consoleHistory;

    public string VmId { get; } = vmId;

    public string MigrationId { get; } = migrationId;

    /// <summary>The VM's epoch when the migration began; the commit writes one more.</summary>
    public long ExpectedEpoch { get; } = expectedEpoch;

    /// <summary>The guest once it runs here, or null when the migration failed.</summary>
    public Task<ParkedGuest?> Arrival => _arrival.Task;

    /// <summary>The source's console history, once sent.</summary>
    public byte[]? ConsoleHistory
    {
        get => _consoleHistory;
        set => _consoleHistory = value;
    }

    /// <summary>Completes <see cref="Arrival"/>.</summary>
    public void Arrived(ParkedGuest? guest) => _arrival.TrySetResult(guest);

    /// <summary>
    /// Set once another host claimed the VM (<see cref="Cluster.Contracts.Migration.ReleaseClaimedVm"/>): the guest must not run
    /// here, whatever the journal says of this migration's commit (a later claim supersedes it).
    /// </summary>
    public bool Released
    {
        get => Volatile.Read(ref _released);
        set => Volatile.Write(ref _released, value);
    }

    private bool _released;
}

/// <summary>
/// The host-local registry of incoming migrations, keyed by VM id: written by the migration receiver,
/// taken by the VM actor that starts on this host (which then adopts the running guest instead of booting
/// it cold).
/// </summary>
/// <remarks>
/// An immutable snapshot holder rather than an actor: a VM actor reads it in its constructor (to seed its console)
/// and takes its entry as recovery ends, synchronously, before it decides to boot cold. The table is an
/// <see cref="ImmutableDictionary{TKey,TValue}"/> replaced as a whole (<see cref="ImmutableInterlocked"/>), so a take
/// is atomic (one VM actor gets the entry, or the receiver's expiry removes it, never both). The entries are
/// thread-safe one-shot objects (a task for the arrival, a volatile console history).
/// </remarks>
public sealed class IncomingMigrations : IExtension
{
    private ImmutableDictionary<string, IncomingMigration> _byVm = ImmutableDictionary.Create<string, IncomingMigration>(StringComparer.Ordinal);

    /// <summary>The registry of <paramref name="system"/>.</summary>
    public static IncomingMigrations Get(ActorSystem system) => system.WithExtension<IncomingMigrations, IncomingMigrationsProvider>();

    /// <summary>Registers <paramref name="incoming"/>; false when the VM has one already.</summary>
    public bool TryAdd(IncomingMigration incoming) => ImmutableInterlocked.TryAdd(ref _byVm, incoming.VmId, incoming);

    /// <summary>The registered migration of <paramref name="vmId"/>, left in place.</summary>
    public IncomingMigration? Find(string vmId) => Volatile.Read(ref _byVm).GetValueOrDefault(vmId);

    /// <summary>Takes the registered migration of <paramref name="vmId"/> out (the caller owns its guest from now on).</summary>
    public IncomingMigration? TryTake(string vmId) => ImmutableInterlocked.TryRemove(ref _byVm, vmId, out var incoming) ? incoming : null;

    /// <summary>Removes <paramref name="incoming"/> if it is still registered; true when it was (nobody took it).</summary>
    public bool TryRemove(IncomingMigration incoming)
    {
        while (true)
        {
            var before = Volatile.Read(ref _byVm);
            if (!before.TryGetValue(incoming.VmId, out var registered) || !ReferenceEquals(registered, incoming))
                return false;
            if (ReferenceEquals(Interlocked.CompareExchange(ref _byVm, before.Remove(incoming.VmId), before), before))
                return true;
        }
    }
}

/// <summary>Creates the <see cref="IncomingMigrations"/> extension.</summary>
public sealed class IncomingMigrationsProvider : ExtensionIdProvider<IncomingMigrations>
{
    public override IncomingMigrations CreateExtension(ExtendedActorSystem system) => new();
}
