using System.Diagnostics;
using System.Text;
using Cluster.Vmm.Devices.VirtioNet;
using Cluster.Vmm.Emulated;
using Cluster.Vmm.Hypervisor;
using Cluster.Vmm.Kvm;
using Cluster.Vmm.Machine;
using Xunit;
using VmMachine = Cluster.Vmm.Machine.Machine;

namespace Cluster.Vmm.Tests.Devices.VirtioNet;

/// <summary>
/// The net guest on a machine whose NIC is a fresh tap (ndtapXXXXXX, up, IPv6 off so that the host sends nothing of
/// its own), and an AF_PACKET socket on that tap: the host's end of the guest's cable. Disposing stops the machine
/// (closing the tap, which then disappears) and deletes the interface should it remain.
/// </summary>
internal sealed class NetRig : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    public const string GuestMac = "52:54:00:6e:64:01";
    public static readonly byte[] HostMac = [0x02, 0x6e, 0x64, 0x00, 0x00, 0x01];

    private readonly StringBuilder _console = new();
    private readonly IHypervisor _hypervisor;

    public NetRig(string args, BackendKind backend = BackendKind.Emulated, int mtu = 1500, int tapMtu = 0, bool passFd = false, string mac = GuestMac, bool up = true)
    {
        Tap = NewTapName();
        _hypervisor = backend == BackendKind.Kvm ? KvmHypervisor.Open() : new EmulatedHypervisor();
        try
        {
            Cluster.Vmm.Native.TapDevice? handed = passFd ? Cluster.Vmm.Native.TapDevice.Open(Tap) : null;
            try
            {
                var nic = new NicConfig(mac, passFd ? null : Tap, mtu) { TapFd = handed is null ? null : new Microsoft.Win32.SafeHandles.SafeFileHandle(handed.Fd, ownsHandle: false) };
                Machine = VmMachine.Create(_hypervisor, new MachineConfig
                {
                    MemoryBytes = 32UL << 20, Image = new BuiltInGuestImage("net"), Args = args.Split(' ', StringSplitOptions.RemoveEmptyEntries), Nics = [nic],
                });
            }
            finally { handed?.Dispose(); } // the device keeps its own duplicate
            Machine.Serial.Output += bytes => { lock (_console) _console.Append(Encoding.ASCII.GetString(bytes)); };
            if (up) ConfigureTap(Tap, tapMtu > 0 ? tapMtu : mtu + 100);
            Socket = new PacketSocket(Tap);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Tap { get; }
    public VmMachine Machine { get; } = null!;
    public PacketSocket Socket { get; } = null!;
    public VirtioNetDevice Device => Machine.Devices.Nics.Single();
    public string Console { get { lock (_console) return _console.ToString(); } }

    public static string NewTapName() => "ndtap" + Random.Shared.Next(0, 1 << 24).ToString("x6", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>IPv6 off (no router solicitations or MLD reports from the host), the MTU, link up.</summary>
    public static void ConfigureTap(string tap, int mtu)
    {
        var sysctl = $"/proc/sys/net/ipv6/conf/{tap}/disable_ipv6";
        if (File.Exists(sysctl)) File.WriteAllText(sysctl, "1");
        Ip($"link set dev {tap} mtu {mtu} up");
    }

    public static void Ip(string args)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args.Split(' ')) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ip {args}: {err}");
    }

    public static bool Exists(string tap) => Directory.Exists($"/sys/class/net/{tap}");

    public static long KernelCounter(string tap, string name) =>
        long.Parse(File.ReadAllText($"/sys/class/net/{tap}/statistics/{name}").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    public void Start() => Machine.Start();

    public void WaitForConsole(string text)
    {
        Assert.True(SpinWait.SpinUntil(() => Console.Contains(text, StringComparison.Ordinal), Timeout),
            $"no '{text}' on the console within {Timeout}; got: {Console}");
    }

    public int RunToExit()
    {
        Machine.Start();
        Assert.True(Machine.WaitForExit(Timeout), $"the guest did not finish; console: {Console}");
        return Machine.Exit!.ExitStatus ?? -1;
    }

    /// <summary>A test frame from the host to the guest: ethertype 0x88b5, an 8-byte tag, then a pattern.</summary>
    public static byte[] Frame(int size, ulong tag, string dstMac = GuestMac)
    {
        var f = new byte[size];
        NicConfig.ParseMac(dstMac).CopyTo(f, 0);
        HostMac.CopyTo(f, 6);
        f[12] = 0x88; f[13] = 0xb5;
        BitConverter.TryWriteBytes(f.AsSpan(14), tag);
        for (int i = 22; i < size; i++) f[i] = (byte)(tag * 31 + (ulong)i * 7);
        return f;
    }

    /// <summary>The frame the echo guest sends back: the same with the MAC addresses swapped.</summary>
    public static byte[] Echo(byte[] frame)
    {
        var e = (byte[])frame.Clone();
        frame.AsSpan(0, 6).CopyTo(e.AsSpan(6));
        frame.AsSpan(6, 6).CopyTo(e);
        return e;
    }

    /// <summary>The next test frame (ethertype 0x88b5) addressed to the host within the timeout, or null.</summary>
    public byte[]? ReceiveTest(TimeSpan timeout) => ReceiveTest(Socket, timeout);

    /// <summary>The next frame of <paramref name="etherType"/> that <paramref name="socket"/> receives within the timeout, or null.</summary>
    public static byte[]? ReceiveTest(PacketSocket socket, TimeSpan timeout, ushort etherType = 0x88b5)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var f = socket.Receive(deadline - DateTime.UtcNow);
            if (f is null) return null;
            if (f.Length >= 22 && f[12] == etherType >> 8 && f[13] == (etherType & 0xff)) return f;
        }
        return null;
    }

    /// <summary>Sends each frame and waits for its echo, comparing every byte.</summary>
    public static void EchoEach(PacketSocket socket, IEnumerable<int> sizes, Func<string> console)
    {
        ulong tag = (ulong)Random.Shared.NextInt64();
        foreach (int size in sizes)
        {
            var frame = Frame(size, ++tag);
            Assert.Equal(0, socket.Send(frame));
            byte[]? echo;
            do echo = ReceiveTest(socket, TimeSpan.FromSeconds(20));
            while (echo is not null && BitConverter.ToUInt64(echo, 14) != tag);
            Assert.True(echo is not null, $"no echo of a frame of {size} bytes; console: {console()}");
            Assert.True(Echo(frame).AsSpan().SequenceEqual(echo), $"the echo of a frame of {size} bytes differs");
        }
    }

    public void Dispose()
    {
        Socket?.Dispose();
        Machine?.Dispose();
        _hypervisor.Dispose();
        if (Exists(Tap)) Ip($"link del {Tap}");
    }
}
