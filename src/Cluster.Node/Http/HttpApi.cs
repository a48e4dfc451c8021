using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
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
/// POST /api/hosts/{host}/leave.
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
        app.MapPost("/api/vms", async (HttpRequest request) =>
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
            {
                var spec = SpecJson.Parse(document.RootElement, out var start, out var error);
                if (spec is null)
                    return Results.BadRequest(new { error = "bad-spec", message = error });
                var created = await Send(control, new CreateVm(spec));
                return start && created is IStatusCodeHttpResult { StatusCode: 201 } ? await Send(control, new StartVm(spec.Id)) : created;
            }
        });
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
        await app.StartAsync();
        return new HttpApi(app);
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
        return reply switch
        {
            VmCreated c => Results.Json(c, statusCode: StatusCodes.Status201Created),
            ValidationFailed v => Results.BadRequest(new { error = "invalid", field = v.Field, message = v.Message }),
            PlacementRefused p => Results.Conflict(new { error = "no-capacity", resource = p.Resource, message = p.Message }),
            NotAllowed n => Results.Conflict(new { error = "not-allowed", message = n.Reason }),
            VmNotFound nf => Results.NotFound(new { error = "not-found", message = $"no VM '{nf.VmId}'" }),
            HostNotFound h => Results.NotFound(new { error = "not-found", message = $"no host '{h.Host}'", known = h.Known }),
            VmEventList events => Results.Json(events.Events.Select(e => new { @event = e.GetType().Name, e.At, e.Reason })),
            Status.Failure f => Results.Json(new { error = "failed", message = f.Cause.Message }, statusCode: StatusCodes.Status502BadGateway),
            _ => Results.Json(reply),
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
