using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Cluster.Actors.Access;
using Cluster.Actors.Tests.TestUtils;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Serialization;

namespace Cluster.Actors.Tests.Access;

/// <summary>
/// The access gate of one node against the token registry of another: two ActorSystems on one SQLite journal (as two
/// hosts share theirs), probes as the control entry point and the audit log.
/// </summary>
public sealed class AccessGateTests : TestKit
{
    private readonly string _data;
    private readonly ActorSystem _other;
    private readonly IActorRef _registry;
    private readonly TestProbe _control;
    private readonly TestProbe _audit;
    private readonly IActorRef _gate;

    public AccessGateTests()
        : this(TestConfig.NewDataDirectory())
    {
    }

    private AccessGateTests(string data)
        : base(TestConfig.For(data))
    {
        _data = data;
        _other = ActorSystem.Create("other-node", TestConfig.For(data));
        _registry = _other.ActorOf(TokenRegistry.Props(), TokenRegistry.Name);
        _control = CreateTestProbe();
        _audit = CreateTestProbe();
        _gate = Sys.ActorOf(AccessGate.Props(_control, CreateTestProbe(), _audit, "this-node:1", [], TimeSpan.FromMilliseconds(200)));
    }

    private async Task<string> NewToken(Role role) =>
        (await _registry.Ask<TokenCreated>(new CreateToken(role, $"{role}-t", DateTime.UtcNow.AddHours(1)), TimeSpan.FromSeconds(10))).Token;

    private Task<object> Send(string token, object command) => Send(BearerCommands.Wrap(token, command));

    private Task<object> Send(BearerCommand envelope) => _gate.Ask<object>(envelope, TimeSpan.FromSeconds(10));

    [Fact]
    public async Task A_token_issued_on_another_node_is_accepted_here_and_its_revocation_reaches_this_node()
    {
        var token = await NewToken(Role.Operator);
        _gate.Tell(BearerCommands.Wrap(token, new StartVm("web-1")), TestActor);
        _control.ExpectMsg(new StartVm("web-1"));
        _control.Reply(new VmCommandAccepted("web-1", Contracts.Vms.VmStatus.Running));
        ExpectMsg<VmCommandAccepted>();
        var record = _audit.ExpectMsg<AuditRecord>();
        Assert.Equal((TokenText.IdOf(token), Role.Operator, "StartVm", "web-1", "this-node:1"),
            (record.TokenId, record.Role, record.Command, record.Target, record.Node));

        _control.SetAutoPilot(new DelegateAutoPilot((sender, _) =>
        {
            sender.Tell(new VmList([]));
            return AutoPilot.KeepRunning;
        }));
        Assert.IsType<VmList>(await Send(token, ListVms.Instance));
        await _registry.Ask<TokenRevocation>(new RevokeToken(TokenText.IdOf(token)!), TimeSpan.FromSeconds(10));
        await AwaitAssertAsync(async () => Assert.Equal(Denial.Unauthenticated, Assert.IsType<AccessDenied>(await Send(token, ListVms.Instance)).Reason),
            TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_command_whose_token_another_node_imports_a_moment_later_is_accepted_and_an_unknown_one_refused()
    {
        // Another node's bootstrap token reaches the registry when that node has started: a command with it that arrives
        // here first waits for the registry's journal (within a grace) instead of being refused.
        var text = TokenText.New(out var id);
        _gate.Tell(BearerCommands.Wrap(text, new StartVm("web-1")), TestActor);
        await Task.Delay(TimeSpan.FromSeconds(1));
        await _registry.Ask<TokenImported>(new ImportToken(new TokenInfo(id, "bootstrap", Role.Admin, DateTime.UtcNow, null, null), TokenText.Hash(text)),
            TimeSpan.FromSeconds(10));
        _control.ExpectMsg(new StartVm("web-1"), TimeSpan.FromSeconds(10));

        // A token nobody imports is refused once the grace is over.
        _gate.Tell(BearerCommands.Wrap(TokenText.New(out _), ListVms.Instance), TestActor);
        Assert.Equal(Denial.Unauthenticated, ExpectMsg<AccessDenied>(TimeSpan.FromSeconds(10)).Reason);
        _control.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_command_without_a_token_or_beyond_the_tokens_role_reaches_nothing()
    {
        _gate.Tell(new DeleteVm("web-1"), TestActor);
        Assert.Equal(Denial.Unauthenticated, ExpectMsg<AccessDenied>().Reason);
        var viewer = await NewToken(Role.Viewer);
        Assert.Equal(Denial.Forbidden, Assert.IsType<AccessDenied>(await Send(viewer, new DeleteVm("web-1"))).Reason);
        Assert.Equal(Denial.Forbidden, Assert.IsType<AccessDenied>(await Send(await NewToken(Role.Operator), new DrainHost("h1:1"))).Reason);
        Assert.Equal(Denial.Forbidden, Assert.IsType<AccessDenied>(await Send(viewer, new Contracts.Hosts.CheckDisks([]))).Reason);
        Assert.Equal("id", Assert.IsType<ValidationFailed>(await Send(viewer, new GetVm("../NOT-AN-ID"))).Field);
        var garbled = BearerCommands.Wrap(viewer, ListVms.Instance) with { Manifest = "System.Diagnostics.Process" };
        Assert.Equal("command", Assert.IsType<ValidationFailed>(await Send(garbled)).Field);
        _control.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        _audit.ExpectNoMsg(TimeSpan.Zero);
    }

    protected override void AfterAll()
    {
        _other.Terminate().Wait(TimeSpan.FromSeconds(10));
        base.AfterAll();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
