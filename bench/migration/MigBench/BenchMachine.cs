using Cluster.Vmm.Emulated;
using Cluster.Vmm.Machine;
using Cluster.Vmm.Migration;

namespace MigBench;

/// <summary>What the source and target processes share: the machine they agree on (the target reserves it, as a node
/// would from the VM's spec) and the credentials the target hands over (a file stands in for the control plane).</summary>
internal static class BenchMachine
{
    /// <summary>The benchmark guest's machine from the command line (the same options on both sides).</summary>
    public static MachineConfig Config(Args a) => new()
    {
        MemoryBytes = (ulong)a.GetLong("memory-mib", 1024) << 20,
        Image = new ElfGuestImage(Path.GetFullPath(a.Get("guest", "migdirty.elf"))),
        // The emulator's TSC runs at a fixed nominal rate, so the guest is told it instead of calibrating.
        Args = [a.Get("fill", "512"), a.Get("ws", "256"), a.Get("rate", "0"), (EmulatedVcpu.TscHz / 1000).ToString()],
    };

    /// <summary>Writes <paramref name="c"/> as "TOKEN-HEX PIN-HEX|-".</summary>
    public static void WriteCredentials(string path, MigrationCredentials c) =>
        File.WriteAllText(path, $"{Convert.ToHexString(c.Token)} {(c.CertificatePin is null ? "-" : Convert.ToHexString(c.CertificatePin))}\n");

    /// <summary>Reads what <see cref="WriteCredentials"/> wrote.</summary>
    public static MigrationCredentials ReadCredentials(string path)
    {
        var parts = File.ReadAllText(path).Split(' ', StringSplitOptions.TrimEntries);
        return new MigrationCredentials(Convert.FromHexString(parts[0]), parts[1] == "-" ? null : Convert.FromHexString(parts[1])).Validated();
    }
}
