using System.Globalization;
using Akka.Actor;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Replies;
using Cluster.Contracts.Validation;
using Cluster.Node.Http.History;
using Cluster.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cluster.Node.Http;

/// <summary>
/// The dashboard's routes: its files (<see cref="Dashboard"/>), and the node's history and event feed kept by a
/// <see cref="HistorySampler"/> (one sample every <see cref="Interval"/>, an hour kept):
/// <list type="bullet">
/// <item><c>GET /api/v1/history?host=HOST:PORT</c> or <c>?vm=ID</c>: <c>{"host"|"vm", "intervalSeconds", "at": [Unix ms],
/// "series": {"NAME": [value or null]}}</c>, oldest first; series per host: cpu, vcpus, memoryInUse, memoryCapacity,
/// vms, runningVms; per VM: cpu, memoryInUse, memory; for both diskRead, diskWrite, netRx, netTx (bytes per second). An
/// unknown host or VM has empty series.</item>
/// <item><c>GET /api/v1/events?after=N</c>: <c>{"events": [{"seq", "at", "kind", "vm", "host", "text"}], "last"}</c>, the
/// feed's events numbered above N (all it keeps for 0).</item>
/// </list>
/// Both need a token of any role, checked by the access gate (a ListVms sent with it: 401 or 403 as for the API's
/// other reads); the sampler borrows the last token the gate accepted here.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>How often the sampler asks the cluster.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Maps the routes and starts the sampler in <paramref name="system"/>, stopped with the app.</summary>
    /// <remarks><paramref name="trusted"/>: the node's control entry point behind the gate, for the sampler's own questions
    /// (in-process, no token); null: the sampler borrows its readers' tokens.</remarks>
    public static void Map(WebApplication app, ActorSystem system, IActorRef gate, bool cluster, IActorRef? trusted = null)
    {
        Dashboard.Map(app);
        var sampler = system.ActorOf(HistorySampler.Props(gate, cluster, Interval, trusted));
        app.Lifetime.ApplicationStopping.Register(() => system.Stop(sampler));
        app.MapGet("/api/v1/history", Handler(c => Admitted(c, gate, sampler, async () =>
        {
            var host = c.Request.Query["host"].ToString();
            var vm = c.Request.Query["vm"].ToString();
            if ((host.Length == 0) == (vm.Length == 0))
                return Invalid("host", "name one host (?host=HOST:PORT) or one VM (?vm=ID)");
            if (host.Length > 0 && !HostText.IsValid(host))
                return Invalid("host", $"'{host}' is not a host: use HOST:PORT");
            if (vm.Length > 0 && VmSpecValidator.CheckId(vm) is { } bad)
                return Invalid(bad.Field, bad.Message);
            var read = await sampler.Ask<HistorySampler.SeriesRead>(new HistorySampler.ReadSeries(host.Length > 0, host.Length > 0 ? host : vm), AskTimeout);
            return Results.Json(new Dictionary<string, object>
            {
                [host.Length > 0 ? "host" : "vm"] = host.Length > 0 ? host : vm,
                ["intervalSeconds"] = read.Interval.TotalSeconds,
                ["at"] = read.At,
                ["series"] = read.Series,
            });
        })));
        app.MapGet("/api/v1/events", Handler(c => Admitted(c, gate, sampler, async () =>
        {
            var text = c.Request.Query["after"].ToString();
            long after = 0;
            if (text.Length > 0 && !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out after))
                return Invalid("after", $"bad after '{text}': an event number (0 for all)");
            var read = await sampler.Ask<HistorySampler.FeedRead>(new HistorySampler.ReadFeed(after), AskTimeout);
            return Results.Json(new { events = read.Events, last = read.Last });
        })));
    }

    /// <summary>Runs <paramref name="answer"/> when the gate accepts the request's token for a read, and lends the token to the sampler.</summary>
    private static async Task<IResult> Admitted(HttpContext context, IActorRef gate, IActorRef sampler, Func<Task<IResult>> answer)
    {
        var token = RequestGuard.TokenOf(context);
        object reply;
        try
        {
            reply = await gate.Ask<object>(BearerCommands.Wrap(token, ListVms.Instance), AskTimeout);
        }
        catch (AskTimeoutException)
        {
            return Results.Json(new { error = "timeout", message = $"the cluster did not answer within {AskTimeout.TotalSeconds:0} s" },
                statusCode: StatusCodes.Status504GatewayTimeout);
        }
        if (reply is not VmList)
        {
            if (reply is AccessDenied { Reason: Denial.Unauthenticated })
                context.Response.Headers.WWWAuthenticate = "Bearer";
            return HttpReplies.ToResult(reply);
        }
        sampler.Tell(new HistorySampler.Borrow(token));
        return await answer();
    }

    /// <summary>A route handler that takes the request's context (typed as a Delegate so its result is written).</summary>
    private static Delegate Handler(Func<HttpContext, Task<IResult>> handle) => handle;

    private static IResult Invalid(string field, string message) => Results.BadRequest(new { error = "invalid", field, message });
}
