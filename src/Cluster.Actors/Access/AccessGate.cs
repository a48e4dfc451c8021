using Akka.Actor;
using Akka.Event;
using Cluster.Contracts;
using Cluster.Contracts.Access;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;
using Cluster.Serialization;

namespace Cluster.Actors.Access;

/// <summary>
/// The node's door for clients (at <see cref="Path"/>; registered with the ClusterClientReceptionist on a cluster
/// node, and the actor the HTTP API sends to): it takes only <see cref="BearerCommand"/>s, verifies the token against
/// its <see cref="TokenBook"/> (rebuilt from the token registry's journal every <c>refresh</c>, and at once when a
/// token's id is unknown), checks the role with <see cref="AccessPolicy"/>, refuses bad VM ids and host names before
/// anything is routed, records every accepted command but reads in the <see cref="AuditLog"/>, and forwards the command
/// (the sender kept, so replies and console streams go straight to the client) to the control entry point, the token
/// registry or the audit log. Anything else is refused with <see cref="AccessDenied"/>.
/// </summary>
public sealed class AccessGate : ReceiveActor, IWithTimers
{
    /// <summary>The actor name under /user.</summary>
    public const string Name = "control";

    /// <summary>The path clients send to.</summary>
    public const string Path = "/user/" + Name;

    private readonly IActorRef _control;
    private readonly IActorRef _tokens;
    private readonly IActorRef _audit;
    private readonly string _node;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<(BearerCommand Command, IActorRef Sender, long Arrived)> _waiting = [];

    /// <summary>
    /// How long a command whose token id this node does not know yet waits for the registry's journal to show it before it
    /// is refused: another node's bootstrap token is imported by that node when it starts, and a client that reached this
    /// node right after the cluster formed was refused before the import was written (seen in the suite).
    /// </summary>
    private static readonly TimeSpan UnknownTokenGrace = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan UnknownTokenReread = TimeSpan.FromMilliseconds(500);
    private readonly Dictionary<string, TokenIssued> _unregistered = [];
    private readonly List<(object Reply, IActorRef Sender)> _repliesAfterRead = [];
    private TokenBook _book = TokenBook.Empty;
    private long _readUpTo;
    private bool _loaded;
    private bool _reading;
    private bool _readAgain;

    public AccessGate(IActorRef control, IActorRef tokens, IActorRef audit, string node, IReadOnlyList<TokenIssued> localTokens, TimeSpan refresh)
    {
        _control = control;
        _tokens = tokens;
        _audit = audit;
        _node = node;
        foreach (var t in localTokens)
        {
            _book = _book.Apply(t);
            _unregistered[t.Info.Id] = t;
        }
        Receive<BearerCommand>(c =>
        {
            if (_loaded)
                Handle(c, Sender, final: false);
            else
                _waiting.Add((c, Sender, Environment.TickCount64));
        });
        Receive<JournalRead>(Read);
        Receive<RegistryAnswered>(a =>
        {
            _repliesAfterRead.Add((a.Reply, a.Sender));
            if (_reading)
                _readAgain = true;
            else
                StartRead();
        });
        Receive<Refresh>(_ => StartRead());
        Receive<RegisterLocalTokens>(_ => RegisterLocal());
        Receive<TokenImported>(i =>
        {
            if (_unregistered.Remove(i.Id))
                _log.Info("access gate: this node's bootstrap token {0} is registered in the cluster", i.Id);
        });
        Receive<ValidationFailed>(v => _log.Error("access gate: the token registry refused this node's bootstrap token: {0}", v.Message));
        ReceiveAny(m => Sender.Tell(new AccessDenied(Denial.Unauthenticated,
            $"{m.GetType().Name} came without a token: clients send each command in a BearerCommand")));
        Timers.StartPeriodicTimer(Refresh.Instance, Refresh.Instance, refresh);
        StartRead();
        RegisterLocal();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef control, IActorRef tokens, IActorRef audit, string node, IReadOnlyList<TokenIssued> localTokens,
        TimeSpan refresh) =>
        Akka.Actor.Props.Create(() => new AccessGate(control, tokens, audit, node, localTokens, refresh));

    /// <summary>
    /// Asks the registry to import this node's local (bootstrap) tokens until it confirms each, so that every node accepts
    /// them; this node accepts them meanwhile.
    /// </summary>
    private void RegisterLocal()
    {
        foreach (var t in _unregistered.Values)
            _tokens.Tell(new ImportToken(t.Info, t.Hash));
        if (_unregistered.Count > 0)
            Timers.StartSingleTimer(RegisterLocalTokens.Instance, RegisterLocalTokens.Instance, TimeSpan.FromSeconds(5));
    }

    private void StartRead()
    {
        if (_reading)
            return;
        _reading = true;
        Context.ActorOf(JournalTail.Props(TokenRegistry.Name, _readUpTo));
    }

    private void Read(JournalRead read)
    {
        _reading = false;
        if (read.Failed is not null)
            _log.Warning("access gate: cannot read the token registry's journal: {0}", read.Failed);
        foreach (var (seq, payload) in read.Events)
        {
            if (payload is ITokenEvent e)
                _book = _book.Apply(e);
            _readUpTo = Math.Max(_readUpTo, seq);
        }
        _loaded = true;
        if (_readAgain)
        {
            _readAgain = false;
            StartRead();
        }
        else
        {
            foreach (var (reply, sender) in _repliesAfterRead)
                sender.Tell(reply);
            _repliesAfterRead.Clear();
        }
        var waiting = _waiting.ToList();
        _waiting.Clear();
        foreach (var (command, sender, arrived) in waiting)
            Handle(command, sender, final: Environment.TickCount64 - arrived >= (long)UnknownTokenGrace.TotalMilliseconds, arrived);
        if (_waiting.Count > 0)
            Timers.StartSingleTimer(RereadForUnknown.Instance, Refresh.Instance, UnknownTokenReread);
    }

    private void Handle(BearerCommand envelope, IActorRef sender, bool final, long? arrived = null)
    {
        var verdict = _book.Verify(envelope.Token, DateTime.UtcNow);
        if (verdict.Token is not { } token)
        {
            if (verdict.UnknownId && !final)
            {
                _waiting.Add((envelope, sender, arrived ?? Environment.TickCount64));
                if (arrived is null)
                    StartRead();
            }
            else
                sender.Tell(new AccessDenied(Denial.Unauthenticated, verdict.Problem!));
            return;
        }
        if (BearerCommands.Unwrap(envelope, out var error) is not { } command)
        {
            sender.Tell(new ValidationFailed("command", error!));
            return;
        }
        if (AccessPolicy.ClassOf(command.GetType()) is not { } commandClass)
        {
            sender.Tell(new AccessDenied(Denial.Forbidden, $"{command.GetType().Name} is not a client command"));
            return;
        }
        if (!AccessPolicy.Allows(token.Role, command.GetType()))
        {
            sender.Tell(new AccessDenied(Denial.Forbidden,
                $"token {token.Id} ({token.Name}) is {token.Role.ToString().ToLowerInvariant()}; {command.GetType().Name} needs {AccessPolicy.Needs(commandClass).ToString().ToLowerInvariant()}"));
            return;
        }
        if (BadTarget(command) is { } bad)
        {
            sender.Tell(bad);
            return;
        }
        if (AccessPolicy.IsAudited(commandClass))
            _audit.Tell(new AuditRecord(DateTime.UtcNow, token.Id, token.Name, token.Role, command.GetType().Name, Target(command), _node));
        switch (command)
        {
            case CreateToken or ImportToken or RevokeToken:
                AskRegistry(command, sender);
                break;
            case ListTokens:
                _tokens.Tell(command, sender);
                break;
            case ListAudit:
                _audit.Tell(command, sender);
                break;
            default:
                _control.Tell(command, sender);
                break;
        }
    }

    /// <summary>
    /// Asks the registry to change the tokens and answers the client only once this gate has read the change back from
    /// the journal, so that a token revoked through this node is refused by it from the reply on (other nodes follow
    /// within their refresh interval).
    /// </summary>
    private void AskRegistry(object command, IActorRef sender)
    {
        _tokens.Ask<object>(command, TimeSpan.FromSeconds(10)).ContinueWith(t => new RegistryAnswered(
                t.IsCompletedSuccessfully ? t.Result : new Status.Failure(new TimeoutException("the token registry did not answer within 10 s")), sender),
            TaskScheduler.Default).PipeTo(Self);
    }

    /// <summary>A VM id or host name that no VM or host can have, refused before it reaches a shard or the rebalancer.</summary>
    private static ValidationFailed? BadTarget(object command) => command switch
    {
        IWithVmId { VmId: var id } => VmSpecValidator.CheckId(id),
        DeleteNetwork d => NetworkSpecValidator.CheckName(d.Name),
        GetNetwork g => NetworkSpecValidator.CheckName(g.Name),
        LeaveHost or DrainHost or UndrainHost when HostOf(command) is var h && !HostText.IsValid(h) =>
            new ValidationFailed("host", $"'{h}' is not a host: use HOST:PORT"),
        _ => null,
    };

    private static string HostOf(object command) => command switch
    {
        LeaveHost l => l.Host,
        DrainHost d => d.Host,
        UndrainHost u => u.Host,
        _ => "",
    };

    private static string Target(object command) => command switch
    {
        IWithVmId w => w.VmId,
        LeaveHost or DrainHost or UndrainHost => HostOf(command),
        SetRebalanceMode s => s.Mode.ToString().ToLowerInvariant(),
        CreateToken c => $"{c.Role.ToString().ToLowerInvariant()} '{c.Name}'",
        ImportToken i => i.Info.Id,
        RevokeToken r => r.Id,
        CreateNetwork c => c.Spec?.Name ?? "",
        DeleteNetwork d => d.Name,
        _ => "",
    };

    private sealed class RereadForUnknown
    {
        public static readonly RereadForUnknown Instance = new();
    }

    private sealed class Refresh
    {
        public static readonly Refresh Instance = new();
    }

    private sealed record RegistryAnswered(object Reply, IActorRef Sender);

    private sealed class RegisterLocalTokens
    {
        public static readonly RegisterLocalTokens Instance = new();
    }
}
