using System.Text;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;

namespace Cluster.Actors.Tests.Devices;

public class SerialConsoleActorTests : TestKit
{
    private readonly ScriptedGuests _guests = new();
    private readonly IActorRef _manager;

    public SerialConsoleActorTests()
        : base(TestConfig.For(TestConfig.NewDataDirectory()))
    {
        _manager = Managers.Start(Sys, _guests);
    }

    private static string Text(ConsoleOutput output) => Encoding.ASCII.GetString(output.Data);

    private void Boot(string id, string image)
    {
        _manager.Tell(new CreateVm(Specs.Of(id, image)));
        ExpectMsg<VmCommandAccepted>();
        _manager.Tell(new StartVm(id));
        ExpectMsg<VmCommandAccepted>();
        AwaitAssert(() =>
        {
            _manager.Tell(new ConsoleTail(id, 100));
            Assert.Equal($"{image} started\n", Text(ExpectMsg<ConsoleOutput>()));
        });
    }

    [Fact]
    public void Attach_sends_the_backlog_then_streams_what_the_guest_writes_back_to_typed_input()
    {
        Boot("e", "echo");
        var subscriber = CreateTestProbe();
        _manager.Tell(new ConsoleAttach("e"), subscriber.Ref);
        Assert.Equal("echo started\n", Text(subscriber.ExpectMsg<ConsoleOutput>()));
        _manager.Tell(new ConsoleInput("e", "ping\n"u8.ToArray()));
        ExpectMsg<VmCommandAccepted>();
        Assert.Equal("ping\n", Text(subscriber.ExpectMsg<ConsoleOutput>()));
        _manager.Tell(new ConsoleDetach("e"), subscriber.Ref);
        subscriber.ExpectMsg<ConsoleDetached>();
        _manager.Tell(new ConsoleInput("e", "more"u8.ToArray()));
        ExpectMsg<VmCommandAccepted>();
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Tail_returns_at_most_the_buffered_bytes()
    {
        Boot("e", "echo");
        var line = new string('x', 50) + "\n";
        for (var i = 0; i < 3; i++)
        {
            _manager.Tell(new ConsoleInput("e", Encoding.ASCII.GetBytes(line)));
            ExpectMsg<VmCommandAccepted>();
        }
        AwaitAssert(() =>
        {
            _manager.Tell(new ConsoleTail("e", 1000));
            var all = "echo started\n" + line + line + line;
            Assert.Equal(all[^64..], Text(ExpectMsg<ConsoleOutput>()));
        });
        _manager.Tell(new ConsoleTail("e", 5));
        Assert.Equal("xxxx\n", Text(ExpectMsg<ConsoleOutput>()));
    }

    [Fact]
    public void Refuses_input_for_a_vm_that_is_not_running()
    {
        _manager.Tell(new CreateVm(Specs.Of("d")));
        ExpectMsg<VmCommandAccepted>();
        _manager.Tell(new ConsoleInput("d", "x"u8.ToArray()));
        Assert.Contains("Defined", ExpectMsg<NotAllowed>().Reason);
    }
}
