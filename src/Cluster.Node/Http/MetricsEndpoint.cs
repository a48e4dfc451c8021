using Akka.Actor;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Replies;
using Cluster.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Cluster.Node.Http;

/// <summary>
/// Observability routes: <c>GET /metrics</c> (Prometheus text from OpenTelemetry's exporter: <see cref="ClusterMetrics"/>
/// and ASP.NET Core's own request metrics), <c>GET /healthz</c> (the process serves HTTP) and <c>GET /readyz</c> (the node's
/// own readiness, see <see cref="Readiness"/>). /metrics needs a bearer token of any role, like the API's reads: before
/// the exporter writes, the cluster is asked ListVms and (on a cluster node) ListHosts and ListMigrations through the access gate with that token,
/// so the figures are the cluster's at the scrape and a token that may not read gets 401 or 403. The health routes need
/// none (a load balancer or a supervisor probes them) and say nothing about the cluster's contents.
/// </summary>
public static class MetricsEndpoint
{
    public const string MetricsPath = "/metrics", HealthPath = "/healthz", ReadyPath = "/readyz";

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Why the node is not ready (empty when it is): it has not joined its cluster, or it is leaving.</summary>
    public delegate IReadOnlyList<string> Readiness();

    /// <summary>Registers the meter provider with the Prometheus exporter.</summary>
    public static void AddServices(IServiceCollection services, ClusterMetrics metrics)
    {
        services.AddSingleton(metrics);
        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(ClusterMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
    }

    /// <summary>Maps the routes; <paramref name="readiness"/> null means ready whenever the API answers. A standalone node
    /// (<paramref name="cluster"/> false) has no host list and no migrations: its metrics are its VMs'.</summary>
    public static void Map(WebApplication app, IActorRef gate, ClusterMetrics metrics, Readiness? readiness, bool cluster)
    {
        app.MapGet(HealthPath, () => Results.Json(new { status = "ok" }));
        app.MapGet(ReadyPath, () =>
        {
            var reasons = readiness?.Invoke() ?? [];
            return reasons.Count == 0
                ? Results.Json(new { status = "ready" })
                : Results.Json(new { status = "not-ready", reasons }, statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        app.UseWhen(c => c.Request.Path.Equals(MetricsPath, StringComparison.Ordinal), branch =>
        {
            branch.Use(async (context, next) =>
            {
                if (await RefreshAsync(context, gate, metrics, cluster))
                    await next(context);
            });
            branch.UseOpenTelemetryPrometheusScrapingEndpoint(MetricsPath);
        });
    }

    /// <summary>Asks the cluster through the gate with the request's token; false when the response is already written.</summary>
    private static async Task<bool> RefreshAsync(HttpContext context, IActorRef gate, ClusterMetrics metrics, bool cluster)
    {
        // RequestGuard has refused a request without a bearer token already.
        var token = RequestGuard.TokenOf(context);
        try
        {
            var vms = await gate.Ask<object>(BearerCommands.Wrap(token, ListVms.Instance), AskTimeout);
            if (vms is AccessDenied denied)
            {
                if (denied.Reason == Denial.Unauthenticated) context.Response.Headers.WWWAuthenticate = "Bearer";
                await Write(context, denied.Reason == Denial.Forbidden ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized, denied.Message);
                return false;
            }
            object hosts = new HostList([]), migrations = new MigrationList([]);
            if (cluster)
            {
                hosts = await gate.Ask<object>(BearerCommands.Wrap(token, ListHosts.Instance), AskTimeout);
                migrations = await gate.Ask<object>(BearerCommands.Wrap(token, ListMigrations.Instance), AskTimeout);
            }
            if (hosts is not HostList h || vms is not VmList v || migrations is not MigrationList m)
            {
                await Write(context, StatusCodes.Status502BadGateway,
                    $"the cluster answered {hosts.GetType().Name}, {vms.GetType().Name}, {migrations.GetType().Name}");
                return false;
            }
            metrics.Update(h, v, m);
            return true;
        }
        catch (AskTimeoutException)
        {
            await Write(context, StatusCodes.Status504GatewayTimeout, $"the cluster did not answer within {AskTimeout.TotalSeconds:0} s");
            return false;
        }
    }

    private static Task Write(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = status switch { 401 => "unauthenticated", 403 => "forbidden", 504 => "timeout", _ => "failed" }, message });
    }
}
