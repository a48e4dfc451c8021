using System.Net;
using System.Net.Sockets;
using Cluster.Contracts.Vms;
using Cluster.Vmm;
using Cluster.Vmm.Guests;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Loaders;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;
using Cluster.Vmm.Storage;

namespace Cluster.Actors.Runtime;

/// <summary>
/// Creates <see cref="Machine"/>s on one hypervisor backend from VM specs; with <paramref name="images"/>, only from files
/// under those directories (<see cref="ImageDirectories"/>), else from any path (tests, tools).
/// </summary>
public sealed class MachineGuestRuntimeFactory(IHypervisor hypervisor, ImageDirectories? images = null) : IGuestRuntimeFactory
{
    /// <inheritdoc />
    public IReadOnlySet<string> BuiltInImages { get; } = BuiltInGuests.Names.ToHashSet(StringComparer.Ordinal);

    /// <inheritdoc />
    public int MaxVcpus => Math.Min(hypervisor.MaxVcpus, GuestLayout.MaxVcpus);

    /// <summary>The least guest memory the VMM's layout accepts.</summary>
    public static ulong MinMemoryBytes => GuestLayout.MinMemoryBytes;

    /// <summary>The most guest memory the VMM's layout accepts.</summary>
    public static ulong MaxMemoryBytes => GuestLayout.MaxMemoryBytes;

    /// <inheritdoc />
    public IGuestRuntime Create(VmSpec spec) => new MachineGuestRuntime(Machine.Create(hypervisor, CheckedConfig(spec)));

    /// <summary>The machine configuration of <paramref name="spec"/>, its file paths checked against the image directories.</summary>
    /// <exception cref="VmmException">a path is refused.</exception>
    public MachineConfig CheckedConfig(VmSpec spec)
    {
        var config = Config(spec);
        images?.Check(config);
        return config;
    }

    /// <inheritdoc />
    public IncomingGuest ListenIncoming(VmSpec spec, IncomingListen listen)
    {
        var config = CheckedConfig(spec);
        TcpListener listener;
        try
        {
            listener = new TcpListener(IPAddress.Parse(listen.BindHost), listen.Port);
            listener.Start();
        }
        catch (Exception e) when (e is SocketException or FormatException)
        {
            throw new VmmException($"cannot listen on {listen.BindHost}:{listen.Port}: {e.Message}", "migration-target");
        }
        var identity = MigrationIdentity.Create(listen.Encrypted);
        var target = new MigrationTarget(hypervisor, config, new MigrationTargetOptions
        {
            IoTimeout = listen.IoTimeout,
            MachineCreated = machine => listen.Created(new MachineGuestRuntime(machine)),
            Resumed = _ => listen.Resumed(),
            ResolveCommit = listen.ResolveCommit,
        });
        var stop = listen.Cancellation.Register(listener.Stop);
        var completion = target.ReceiveAsync(listener, identity, listen.Cancellation).ContinueWith(t =>
        {
            stop.Dispose();
            listener.Stop();
            identity.Dispose();
            var result = t.IsCompletedSuccessfully
                ? t.Result
                : new MigrationTargetResult { FailureReason = t.Exception?.GetBaseException().Message ?? "the target failed" };
            return new IncomingResult(result.Succeeded, result.FailureReason, result.BytesReceived);
        }, TaskScheduler.Default);
        return new IncomingGuest((IPEndPoint)listener.LocalEndpoint, identity.Credentials, completion);
    }

    /// <summary>The machine configuration of <paramref name="spec"/>: each NIC a virtio-net device on its tap (<see cref="Networks.HostNetworking.TapName(string, int)"/>).</summary>
    public static MachineConfig Config(VmSpec spec) => new()
    {
        Vcpus = spec.Vcpus,
        MemoryBytes = spec.MemoryBytes,
        Image = spec.Image switch
        {
            BuiltInImage b => new BuiltInGuestImage(b.Name),
            ElfImage e => new ElfGuestImage(e.Path),
            LinuxImage l => new LinuxGuestImage(l.KernelPath, l.InitrdPath, l.CommandLine),
            _ => throw new VmmException($"unknown image kind {spec.Image.GetType().Name}", "machine-create"),
        },
        Args = spec.Args,
        Disks = DiskConfigs.Of(spec.Disks),
        Nics = [.. spec.Nics.Select((nic, i) => new NicConfig(
            nic.Mac ?? throw new VmmException($"VM {spec.Id}: NIC {i} has no MAC (the network registry assigns one at create time)", "machine-create"),
            Networks.HostNetworking.TapName(spec.Id, i), nic.Mtu == 0 ? NicConfig.DefaultMtu : nic.Mtu))],
    };
}
