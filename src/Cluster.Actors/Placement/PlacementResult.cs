namespace Cluster.Actors.Placement;

/// <summary>Where a VM goes, or why it fits nowhere: <see cref="Resource"/> names what is short.</summary>
public sealed record PlacementResult(string? Host, string? Resource, string? Message)
{
    public static PlacementResult On(string host) => new(host, null, null);

    public static PlacementResult Refused(string resource, string message) => new(null, resource, message);

    public bool Placed => Host is not null;
}
