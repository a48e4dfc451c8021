using System.Collections;
using System.Reflection;
using Akka.Cluster;

namespace Cluster.Actors.Downing;

/// <summary>
/// Reads the unreachability records (observer, subject) out of Akka's cluster event <c>ReachabilityChanged</c>. The event and
/// the <c>Reachability</c> it carries are internal to Akka.Cluster (its split brain resolver reads them the same way), so
/// this goes through reflection, resolved once; <see cref="Available"/> is false (and the link-aware downing stands aside,
/// leaving Akka's resolver alone) if an Akka version ever renames them. A test pins it for the version in use.
/// </summary>
public static class ReachabilityRecords
{
    private const string EventType = "Akka.Cluster.ClusterEvent+ReachabilityChanged";
    private static readonly PropertyInfo? ReachabilityProperty;
    private static readonly PropertyInfo? RecordsProperty;
    private static readonly PropertyInfo? ObserverProperty;
    private static readonly PropertyInfo? SubjectProperty;
    private static readonly PropertyInfo? StatusProperty;

    static ReachabilityRecords()
    {
        var assembly = typeof(Member).Assembly;
        ReachabilityProperty = assembly.GetType(EventType)?.GetProperty("Reachability");
        var reachability = assembly.GetType("Akka.Cluster.Reachability");
        RecordsProperty = reachability?.GetProperty("Records");
        var record = assembly.GetType("Akka.Cluster.Reachability+Record");
        ObserverProperty = record?.GetProperty("Observer");
        SubjectProperty = record?.GetProperty("Subject");
        StatusProperty = record?.GetProperty("Status");
    }

    /// <summary>Whether this Akka version's internals are where this reader expects them.</summary>
    public static bool Available =>
        ReachabilityProperty is not null && RecordsProperty is not null && ObserverProperty?.PropertyType == typeof(UniqueAddress) &&
        SubjectProperty?.PropertyType == typeof(UniqueAddress) && StatusProperty is not null;

    /// <summary>The type of the event to subscribe to (null when <see cref="Available"/> is false).</summary>
    public static Type? Event => Available ? typeof(Member).Assembly.GetType(EventType) : null;

    /// <summary>
    /// When <paramref name="message"/> is a <c>ReachabilityChanged</c>, its records with status Unreachable or Terminated
    /// (observer cannot reach subject).
    /// </summary>
    public static bool TryRead(object message, out IReadOnlyList<(UniqueAddress Observer, UniqueAddress Subject)> unreachable)
    {
        unreachable = [];
        if (!Available || message.GetType().FullName != EventType)
            return false;
        var reachability = ReachabilityProperty!.GetValue(message);
        if (reachability is null || RecordsProperty!.GetValue(reachability) is not IEnumerable records)
            return true;
        var list = new List<(UniqueAddress, UniqueAddress)>();
        foreach (var record in records)
        {
            var status = StatusProperty!.GetValue(record)?.ToString();
            if (status is "Unreachable" or "Terminated" &&
                ObserverProperty!.GetValue(record) is UniqueAddress observer && SubjectProperty!.GetValue(record) is UniqueAddress subject)
                list.Add((observer, subject));
        }
        unreachable = list;
        return true;
    }
}
