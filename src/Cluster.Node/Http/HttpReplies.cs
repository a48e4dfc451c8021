using Akka.Actor;
using Cluster.Contracts.Access;
using Cluster.Contracts.Events;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Cluster.Node.Http.Replies;
using Microsoft.AspNetCore.Http;

namespace Cluster.Node.Http;

/// <summary>
/// Maps a control reply to an HTTP result: 200 for answers, 201 for a created VM, 202 for work that goes on
/// after the reply (a migration, its cancellation, a drain), 400 for invalid input, 401 for a token the gate does not
/// accept, 403 for a role that may not send the command, 404 for an unknown VM, token, network or
/// host, 409 for a refusal in the current state or a placement that fits nowhere, 502 for a failure inside
/// the cluster. Errors are JSON objects with <c>error</c> and <c>message</c>.
/// </summary>
public static class HttpReplies
{
    public static IResult ToResult(object reply) => reply switch
    {
        VmCreated c => Results.Json(c, statusCode: StatusCodes.Status201Created),
        TokenCreated t => Results.Json(t, statusCode: StatusCodes.Status201Created),
        AccessDenied { Reason: Denial.Forbidden } d => Results.Json(new { error = "forbidden", message = d.Message }, statusCode: StatusCodes.Status403Forbidden),
        AccessDenied d => Results.Json(new { error = "unauthenticated", message = d.Message }, statusCode: StatusCodes.Status401Unauthorized),
        TokenNotFound t => Results.NotFound(new { error = "not-found", message = $"no token '{t.Id}'" }),
        NetworkNotFound n => Results.NotFound(new { error = "not-found", message = $"no network '{n.Name}'" }),
        NetworkRefused n => Results.Conflict(new { error = "not-allowed", message = n.Reason }),
        MigrationAccepted or MigrationCancelling or DrainStarted => Results.Json(reply, statusCode: StatusCodes.Status202Accepted),
        ValidationFailed v => Results.BadRequest(new { error = "invalid", field = v.Field, message = v.Message }),
        PlacementRefused p => Results.Conflict(new { error = "no-capacity", resource = p.Resource, message = p.Message }),
        NotAllowed n => Results.Conflict(new { error = "not-allowed", message = n.Reason }),
        VmNotFound nf => Results.NotFound(new { error = "not-found", message = $"no VM '{nf.VmId}'" }),
        HostNotFound h => Results.NotFound(new { error = "not-found", message = $"no host '{h.Host}'", known = h.Known }),
        VmEventList events => Results.Json(events.Events.Select(e => new VmEventView(e.GetType().Name, e.At, e.Reason, MigrationDetails(e)))),
        Status.Failure f => Results.Json(new { error = "failed", message = f.Cause.Message }, statusCode: StatusCodes.Status502BadGateway),
        _ => Results.Json(reply),
    };

    /// <summary>A migration event's own fields (route, cause with its input figures, limits, outcome), or null for other events.</summary>
    private static object? MigrationDetails(VmEvent e) =>
        e is VmMigrationStarted or VmMigrated or VmMigrationCompleted or VmMigrationFailed ? e : null;
}
