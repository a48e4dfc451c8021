using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Vms;
using Cluster.Actors.Vms;
using Xunit.Abstractions;

namespace Cluster.Actors.Tests.Faults;

/// <summary>
/// The journal fails under running guests: the node's data directory is a small tmpfs (mounted by the test, root only)
/// that the test fills, so SQLite's writes fail with a real "database or disk is full".
/// </summary>
public sealed class JournalFaultTests : TestKit, IDisposable
{
    private readonly ScriptedGuests _guests = new();
    private readonly string _mount;
    private readonly ITestOutputHelper _output;
    private IActorRef? _manager;

    public JournalFaultTests(ITestOutputHelper output)
        : this(output, SmallDisk.Mount())
    {
    }

    private JournalFaultTests(ITestOutputHelper output, string mount)
        : base(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = INFO").WithFallback(TestConfig.For(mount)))
    {
        _output = output;
        _mount = mount;
    }

    void IDisposable.Dispose()
    {
        Dispose();
        SmallDisk.Unmount(_mount);
    }

    private object Send(object message) => _manager!.Ask<object>(message, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    /// <summary>For the retried asks inside AwaitAssert: short enough that a lost ask leaves room for another try.</summary>
    private object Try(object message) => _manager!.Ask<object>(message, TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();

    private ScriptedGuest StartedGuest()
    {
        AwaitAssert(() => Assert.Equal("running", Assert.Single(_guests.Created).State), TimeSpan.FromSeconds(5));
        return _guests.Created.Single();
    }

    private static VmSpec Hello(string id) => Specs.Of(id) with { Image = new BuiltInImage("hello") };

    [RootFact]
    public void A_failed_write_keeps_the_guest_running_and_the_same_guest_obeys_once_the_journal_is_back()
    {
        _manager = Managers.Start(Sys, _guests);
        Assert.IsType<VmCommandAccepted>(Send(new CreateVm(Hello("a"))));
        Assert.IsType<VmCommandAccepted>(Send(new StartVm("a")));
        var guest = StartedGuest();

        SmallDisk.Fill(_mount);
        var refused = Assert.IsType<NotAllowed>(Send(new PauseVm("a")));
        _output.WriteLine(refused.Reason);

        Assert.Contains("journal", refused.Reason);
        // The VM actor starts again, reads its journal (reads work on a full disk) and takes the held guest back.
        AwaitAssert(() => Assert.Equal(VmStatus.Running, Assert.IsType<VmInfo>(Try(new GetVm("a"))).Status), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        Assert.Equal("running", guest.State);
        Assert.False(guest.Disposed);

        SmallDisk.Free(_mount);
        AwaitAssert(() => Assert.IsType<VmCommandAccepted>(Try(new PauseVm("a"))), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200));

        AwaitAssert(() => Assert.Equal("paused", guest.State), TimeSpan.FromSeconds(5)); // the supervisor pauses after the reply
        Assert.Single(_guests.Created);
        Assert.Equal(VmStatus.Paused, Assert.IsType<VmInfo>(Send(new GetVm("a"))).Status);
        Assert.True(HeldGuests.Get(Sys).Faults >= 1);
    }

    [RootFact]
    public void A_failed_registry_write_refuses_the_create_and_the_running_vms_go_on()
    {
        _manager = Managers.Start(Sys, _guests);
        Assert.IsType<VmCommandAccepted>(Send(new CreateVm(Hello("a"))));
        Assert.IsType<VmCommandAccepted>(Send(new StartVm("a")));
        var guest = StartedGuest();

        SmallDisk.Fill(_mount);
        var refused = Assert.IsType<NotAllowed>(Send(new CreateVm(Hello("b"))));
        _output.WriteLine(refused.Reason);

        Assert.Contains("journal", refused.Reason);
        Assert.Equal(VmStatus.Running, Assert.IsType<VmInfo>(Send(new GetVm("a"))).Status);
        Assert.Equal("running", guest.State);
        Assert.False(guest.Disposed);
        Assert.IsType<VmNotFound>(Send(new GetVm("b")));

        SmallDisk.Free(_mount);
        AwaitAssert(() => Assert.IsType<VmCommandAccepted>(Send(new CreateVm(Hello("b")))), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200));
        Assert.Equal(["a", "b"], Assert.IsType<VmList>(Send(ListVms.Instance)).Vms.Select(v => v.VmId).Order());
        Assert.Equal("running", guest.State);
    }
}

/// <summary>A 4 MiB tmpfs the tests can fill to make every write to it fail with ENOSPC.</summary>
public static class SmallDisk
{
    public static string Mount()
    {
        var dir = Directory.CreateTempSubdirectory("journal-fault-").FullName;
        if (Environment.UserName != "root" || !Run("mount", $"-t tmpfs -o size=4m tmpfs {dir}"))
        {
            Directory.Delete(dir);
            return "";
        }
        return dir;
    }

    public static void Fill(string dir)
    {
        using var f = File.OpenWrite(Path.Combine(dir, "filler"));
        var block = new byte[64 * 1024];
        try
        {
            while (true)
                f.Write(block);
        }
        catch (IOException)
        {
        }
    }

    public static void Free(string dir) => File.Delete(Path.Combine(dir, "filler"));

    public static void Unmount(string dir)
    {
        if (dir.Length == 0)
            return;
        Run("umount", $"-l {dir}");
        Directory.Delete(dir, recursive: true);
    }

    private static bool Run(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        p.WaitForExit();
        return p.ExitCode == 0;
    }
}
