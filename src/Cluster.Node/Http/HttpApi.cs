using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Replies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cluster.Node.Http;

/// <summary>
/// The HTTP JSON control API: each request becomes one contract message to the node's control entry
/// point (the same actor vmctl's ClusterClient reaches), and the reply becomes JSON with a status code:
/// 200/201 for success, 400 for invalid input, 404 for an unknown VM or host, 409 for a refusal in the
/// VM's state or a placement that fits nowhere, 504 when the cluster does not answer.
/// </summary>
/// <remarks>
/// GET /api/hosts, GET /api/vms, GET /api/vms/{id}, GET /api/vms/{id}/events, POST /api/vms (a spec, see
/// <see cref="SpecJson"/>), POST /api/vms/{id}/start|stop|pause|resume, DELETE /api/vms/{id},
/// POST /api/hosts/{host}/leave; live migration and rebalancing (bodies in <see cref="MigrationJson"/>):
/// POST /api/vms/{id}/migrate, DELETE /api/vms/{id}/migration, GET /api/migrations,
/// POST /api/hosts/{host}/drain|undrain, GET /api/rebalance, PUT /api/rebalance; GET / serves the live
/// <see cref="Dashboard"/>. Replies map to status codes in <see cref="HttpReplies"/>.
/// </remarks>
public sealed class HttpApi : IAsyncDisposable
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(15);
    private readonly WebApplication _app;

    private HttpApi(WebApplication app) => _app = app;

    /// <summary>Starts the API on <paramref name="endpoint"/> (ADDR:PORT) in front of <paramref name="control"/>.</summary>
    public static async Task<HttpApi> StartAsync(string endpoint, IActorRef control)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        var ip = IPEndPoint.Parse(endpoint);
        builder.WebHost.ConfigureKestrel(k => k.Listen(ip));
        var app = builder.Build();
        app.MapGet("/api/hosts", () => Send(control, ListHosts.Instance));
        app.MapGet("/api/vms", () => Send(control, ListVms.Instance));
        app.MapGet("/api/vms/{id}", (string id) => Send(control, new GetVm(id)));
        app.MapGet("/api/vms/{id}/events", (string id) => Send(control, new GetVmEvents(id)));
        app.MapPost("/api/vms", (HttpRequest request) => WithBody(request, async json =>
        {
            var spec = SpecJson.Parse(json, out var start, out var error);
            if (spec is null)
                return Results.BadRequest(new { error = "bad-spec", message = error });
            var created = await Send(control, new CreateVm(spec));
            return start && created is IStatusCodeHttpResult { StatusCode: 201 } ? await Send(control, new StartVm(spec.Id)) : created;
        }));
        app.MapPost("/api/vms/{id}/{action}", (string id, string action) => action switch
        {
            "start" => Send(control, new StartVm(id)),
            "stop" => Send(control, new StopVm(id, StopMode.Graceful)),
            "kill" => Send(control, new StopVm(id, StopMode.Forced)),
            "pause" => Send(control, new PauseVm(id)),
            "resume" => Send(control, new ResumeVm(id)),
            _ => Task.FromResult(Results.NotFound(new { error = "unknown-action", message = $"no action '{action}' (start, stop, kill, pause, resume)" })),
        });
        app.MapDelete("/api/vms/{id}", (string id) => Send(control, new DeleteVm(id)));
        app.MapPost("/api/hosts/{host}/leave", (string host) => Send(control, new LeaveHost(host)));
        app.MapPost("/api/vms/{id}/migrate", (string id, HttpRequest request) =>
            WithBody(request, json => MigrationJson.ParseMigrate(id, json, out var error) is { } migrate
                ? Send(control, migrate) : Task.FromResult(Invalid(error))));
        app.MapDelete("/api/vms/{id}/migration", (string id) => Send(control, new CancelMigration(id)));
        app.MapGet("/api/migrations", () => Send(control, ListMigrations.Instance));
        app.MapPost("/api/hosts/{host}/drain", (string host) => Send(control, new DrainHost(host)));
        app.MapPost("/api/hosts/{host}/undrain", (string host) => Send(control, new UndrainHost(host)));
        app.MapGet("/api/rebalance", () => Send(control, GetRebalanceStatus.Instance));
        app.MapPut("/api/rebalance", (HttpRequest request) =>
            WithBody(request, json => MigrationJson.ParseRebalanceMode(json, out var error) is { } mode
                ? Send(control, mode) : Task.FromResult(Invalid(error))));
        app.MapGet("/", () => Results.Content(Dashboard.Html, "text/html; charset=utf-8"));
        await app.StartAsync();
        return new HttpApi(app);
    }

    /// <summary>The addresses the API listens on (with the port Kestrel chose when asked for port 0).</summary>
    public IReadOnlyList<string> Urls => [.. _app.Urls];

    private static IResult Invalid(string? message) => Results.BadRequest(new { error = "bad-request", message });

    private static async Task<IResult> WithBody(HttpRequest request, Func<JsonElement, Task<IResult>> handle)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body);
        }
        catch (JsonException e)
        {
            return Results.BadRequest(new { error = "bad-json", message = e.Message });
        }
        using (document)
            return await handle(document.RootElement);
    }

    private static async Task<IResult> Send(IActorRef control, object message)
    {
        object reply;
        try
        {
            reply = await control.Ask<object>(message, AskTimeout);
        }
        catch (AskTimeoutException)
        {
            return Results.Json(new { error = "timeout", message = $"no answer to {message.GetType().Name} within {AskTimeout.TotalSeconds} s" },
                statusCode: StatusCodes.Status504GatewayTimeout);
        }
        return HttpReplies.ToResult(reply);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
