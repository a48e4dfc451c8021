using Akka.Actor;
using Akka.Event;
using Cluster.Actors.Access;
using Cluster.Contracts.Networks;

namespace Cluster.Actors.Networks;

/// <summary>
/// Follows the network registry's journal on this node (as the access gate follows the tokens): rereads it every
/// <c>refresh</c>, publishes the networks in the node's <see cref="NetworkView"/>, and reconciles the networks this host
/// set up after each read (<see cref="HostNetworking.Reconcile"/>): new leases, changed overlay peers, a deleted VM's
/// taps removed, a deleted network's bridge, dnsmasq, rules and taps taken down.
/// </summary>
public sealed class NetworkFollower : ReceiveActor, IWithTimers
{
    /// <summary>The actor name under /user.</summary>
    public const string Name = "network-follower";

    private readonly NetworkView _view;
    private readonly HostNetworking? _host;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private NetworkBook _book = NetworkBook.Empty;
    private long _readUpTo;
    private bool _reading;

    public NetworkFollower(NetworkView view, HostNetworking? host, TimeSpan refresh)
    {
        _view = view;
        _host = host;
        Receive<JournalRead>(Read);
        Receive<Refresh>(_ => StartRead());
        Timers.StartPeriodicTimer(Refresh.Instance, Refresh.Instance, refresh);
        StartRead();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(NetworkView view, HostNetworking? host, TimeSpan refresh) =>
        Akka.Actor.Props.Create(() => new NetworkFollower(view, host, refresh));

    private void StartRead()
    {
        if (_reading)
            return;
        _reading = true;
        Context.ActorOf(JournalTail.Props(NetworkRegistry.Name, _readUpTo));
    }

    private void Read(JournalRead read)
    {
        _reading = false;
        if (read.Failed is not null)
            _log.Warning("network follower: cannot read the network registry's journal: {0}", read.Failed);
        foreach (var (seq, payload) in read.Events)
        {
            if (payload is INetworkEvent e)
                _book = _book.Apply(e);
            _readUpTo = Math.Max(_readUpTo, seq);
        }
        if (read.Events.Count > 0)
            _view.Publish(_book);
        try
        {
            _host?.Reconcile(_book);
        }
        catch (Exception e) when (e is Vmm.VmmException or Vmm.Networking.NetworkSetupException or IOException)
        {
            _log.Warning("network follower: reconciling this host's networks failed: {0}", e.Message);
        }
    }

    private sealed class Refresh
    {
        public static readonly Refresh Instance = new();
    }
}
