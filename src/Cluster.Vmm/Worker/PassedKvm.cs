using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm;
using Microsoft.Win32.SafeHandles;

namespace Cluster.Vmm.Worker;

/// <summary>
/// The hypervisor of a worker started with <c>--backend kvm-passed</c>: KVM over the /dev/kvm descriptor its node passes
/// with the first Create or ListenIncoming, so that the worker opens no device by path (and its user needs no access to
/// /dev/kvm). Until then it creates no VM (the worker's warm-up then warms the codec only).
/// </summary>
public sealed class PassedKvm : IHypervisor
{
    private readonly object _gate = new();
    private KvmHypervisor? _kvm;

    /// <summary>The node's side: /dev/kvm opened read-write (close-on-exec), to pass in <see cref="WorkerCreate.Kvm"/>.</summary>
    /// <exception cref="VmmException">the device cannot be opened.</exception>
    public static SafeFileHandle OpenDevice(string path = "/dev/kvm")
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VmmException($"cannot open {path}: {e.Message}", "backend");
        }
    }

    /// <summary>Whether the descriptor has come.</summary>
    public bool HasDevice => Volatile.Read(ref _kvm) is not null;

    /// <summary>Takes KVM from <paramref name="handle"/> (duplicated: the caller keeps and closes its own); nothing when it already has it.</summary>
    /// <exception cref="VmmException">the descriptor is not a usable /dev/kvm.</exception>
    public void Adopt(SafeFileHandle handle)
    {
        lock (_gate)
        {
            if (_kvm is not null) return;
            if (!KvmHypervisor.TryFrom(handle, out var kvm, out var reason))
                throw new VmmException($"KVM backend not available: {reason}", "backend");
            Volatile.Write(ref _kvm, kvm);
        }
    }

    private KvmHypervisor Kvm => Volatile.Read(ref _kvm)
        ?? throw new VmmException("no /dev/kvm yet: the node passes it with Create or ListenIncoming", "backend");

    /// <inheritdoc />
    public BackendKind Kind => BackendKind.Kvm;

    /// <inheritdoc />
    public string Name => "kvm";

    /// <inheritdoc />
    public int MaxVcpus => Kvm.MaxVcpus;

    /// <inheritdoc />
    public int MaxMemorySlots => Kvm.MaxMemorySlots;

    /// <inheritdoc />
    public CpuModel CpuModel => Kvm.CpuModel;

    /// <inheritdoc />
    public IVm CreateVm() => Kvm.CreateVm();

    /// <inheritdoc />
    public void Dispose() => Volatile.Read(ref _kvm)?.Dispose();
}
