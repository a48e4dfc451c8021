using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Cluster.Actors.Access;
using Cluster.Contracts.Access;
using Cluster.Contracts.Commands;
using Cluster.Contracts.Hosts;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Rebalancing;
using Cluster.Contracts.Validation;
using Cluster.Contracts.Replies;
using Cluster.Node.Http.Replies;
using Cluster.Node.Http.Requests;
using Cluster.Node.Logs;
using Cluster.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cluster.Node.Http;

/// <summary>
/// The HTTP JSON control API: each request becomes one contract message, sealed with the caller's bearer token in a
/// <see cref="BearerCommand"/>, to the node's access gate (the same actor vmctl's ClusterClient reaches, which checks the
/// token and the role), and the reply becomes JSON with a status code: 200/201/202 for success, 400 for invalid input,
/// 401 without a valid token, 403 for a role that may not or a foreign Origin, 404 for an unknown VM or host, 409 for a
/// refusal in the VM's state or a placement that fits nowhere, 415 for a write that is not JSON, 504 when the cluster
/// does not answer.
/// </summary>
/// <remarks>
/// Before any route, <see cref="RequestGuard"/> checks Host, Origin, the Authorization header and, for writes, the
/// Content-Type; route ids (VM ids, HOST:PORT) are checked before anything is sent, so a bad id reaches no shard.
/// The JSON routes are one table (<see cref="MapJsonRoutes"/>) mounted under <see cref="ApiPrefix"/> and again under
/// <see cref="AliasPrefix"/>: GET /vms, GET /vms/{id}, GET /vms/{id}/events, POST /vms (a <see cref="VmSpecRequest"/>, see
/// <see cref="SpecJson"/>), POST /vms/{id}/start|stop|kill|pause|resume, DELETE /vms/{id}, GET /hosts,
/// POST /hosts/{host}/leave; live migration and rebalancing (bodies in <see cref="MigrationJson"/>): POST /vms/{id}/migrate,
/// DELETE /vms/{id}/migration, GET /migrations, POST /hosts/{host}/drain|undrain, GET /rebalance, PUT /rebalance; access
/// (<see cref="AccessJson"/>): GET /tokens, POST /tokens, DELETE /tokens/{id}, GET /audit; networks
/// (<see cref="NetworkJson"/>): GET /networks, POST /networks, GET /networks/{name}, DELETE /networks/{name}. Listings are
/// paginated (<see cref="Paging"/>). Bodies are typed records read with generated metadata (<see cref="RequestJson"/>).
/// Beside them: any contract in MessagePack (vmctl --server): POST /api/v1/command (<see cref="CommandEndpoint"/>); the
/// serial console as a WebSocket: GET /api/v1/vms/{id}/console (<see cref="ConsoleEndpoint"/>); GET /metrics (Prometheus, a
/// token of any role), GET /healthz and GET /readyz (no token; <see cref="MetricsEndpoint"/>); GET /openapi.json (no token;
/// <see cref="ApiDocument"/>); GET / serves the live <see cref="Dashboard"/> (no data in it: its scripts fetch the API
/// with the token it is given).
/// </remarks>
public sealed class HttpApi : IAsyncDisposable
{
    /// <summary>The versioned prefix of the JSON routes.</summary>
    public const string ApiPrefix = "/api/v1";

    /// <summary>The same routes' unversioned paths, kept as aliases (marked deprecated in the OpenAPI document).</summary>
    public const string AliasPrefix = "/api";

    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(15);
    private readonly WebApplication _app;
    private readonly ClusterMetrics _metrics;

    private HttpApi(WebApplication app, ClusterMetrics metrics)
    {
        _app = app;
        _metrics = metrics;
    }

    /// <summary>
    /// Starts the API on <paramref name="endpoint"/> (ADDR:PORT) in front of the access gate <paramref name="gate"/>: HTTPS
    /// with <paramref name="certificate"/>, plain HTTP without one (in-process tests). <paramref name="system"/> hosts the
    /// console sockets' bridge actors.
    /// </summary>
    public static async Task<HttpApi> StartAsync(string endpoint, ActorSystem system, IActorRef gate, X509Certificate2? certificate = null,
        MetricsEndpoint.Readiness? readiness = null, bool cluster = true, IActorRef? trusted = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var metrics = new ClusterMetrics();
        MetricsEndpoint.AddServices(builder.Services, metrics);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (NodeLogging.IsJson(system.Settings.Config))
            builder.Logging.ClearProviders().AddProvider(new JsonLoggerProvider(JsonLogWriter.StandardOutput));
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            // Bodies are read with ApiJsonContext's exact names; these options write replies and describe the request
            // records in the OpenAPI document, where case folding would make DiskRequest's "readonly" and "readOnly" collide
            // and numbers in strings would be described as accepted.
            o.SerializerOptions.PropertyNameCaseInsensitive = false;
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
        ApiDocument.AddServices(builder.Services);
        var ip = IPEndPoint.Parse(endpoint);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = 1 << 20;
            k.Listen(ip, listen =>
            {
                if (certificate is not null)
                    listen.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        app.UseWebSockets();
        app.Use(new RequestGuard(ip.Address).InvokeAsync);
        MapJsonRoutes(app.MapGroup(ApiPrefix), gate);
        MapJsonRoutes(app.MapGroup(AliasPrefix), gate);
        CommandEndpoint.Map(app, gate);
        ConsoleEndpoint.Map(app, system, gate);
        MetricsEndpoint.Map(app, gate, metrics, readiness, cluster);
        DashboardEndpoints.Map(app, system, gate, cluster, trusted);
        ApiDocument.Map(app);
        await app.StartAsync();
        return new HttpApi(app, metrics);
    }

    /// <summary>
    /// The JSON routes, relative to <paramref name="api"/>: mounted once under <see cref="ApiPrefix"/> and once under
    /// <see cref="AliasPrefix"/> (the paths before versioning, which the dashboard and scripts still use).
    /// </summary>
    private static void MapJsonRoutes(IEndpointRouteBuilder api, IActorRef gate)
    {
        MapVms(api, gate);
        MapHostsAndRebalancing(api, gate);
        MapAccess(api, gate);
        MapNetworks(api, gate);
    }

    private static void MapVms(IEndpointRouteBuilder api, IActorRef gate)
    {
        api.MapGet("/vms", Handler(c => Page<VmList>(c, gate, ListVms.Instance, PagedListing.Forward, Listings.Vms)))
            .Lists<VmPage>("The VMs, ordered by id.");
        api.MapGet("/vms/{id}", (HttpContext c, string id) => ForVm(id, () => Send(c, gate, new GetVm(id))))
            .Answers<VmInfo>("One VM.");
        api.MapGet("/vms/{id}/events", (HttpContext c, string id) => ForVm(id, () => Send(c, gate, new GetVmEvents(id))))
            .Answers<IReadOnlyList<VmEventView>>("A VM's lifecycle events, oldest first.");
        api.MapPost("/vms", Handler(c => WithBody(c.Request, async json =>
        {
            var spec = SpecJson.Parse(json, out var start, out var error);
            if (spec is null)
                return Results.BadRequest(new { error = "bad-spec", message = error });
            if (VmSpecValidator.CheckId(spec.Id) is { } badId)
                return Results.BadRequest(new { error = "invalid", field = badId.Field, message = badId.Message });
            var created = await Send(c, gate, new CreateVm(spec));
            return start && created is IStatusCodeHttpResult { StatusCode: 201 } ? await Send(c, gate, new StartVm(spec.Id)) : created;
        }))).Takes<VmSpecRequest>("Creates a VM from a spec (and starts it with \"start\": true).").Answers<VmCreated>(null, StatusCodes.Status201Created);
        api.MapPost("/vms/{id}/{action}", (HttpContext c, string id, string action) => ForVm(id, () => action switch
        {
            "start" => Send(c, gate, new StartVm(id)),
            "stop" => Send(c, gate, new StopVm(id, StopMode.Graceful)),
            "kill" => Send(c, gate, new StopVm(id, StopMode.Forced)),
            "pause" => Send(c, gate, new PauseVm(id)),
            "resume" => Send(c, gate, new ResumeVm(id)),
            _ => Task.FromResult(Results.NotFound(new { error = "unknown-action", message = $"no action '{action}' (start, stop, kill, pause, resume)" })),
        })).Answers<VmCommandAccepted>("A lifecycle action: start, stop (graceful), kill (forced stop), pause or resume.");
        api.MapDelete("/vms/{id}", (HttpContext c, string id) => ForVm(id, () => Send(c, gate, new DeleteVm(id))))
            .Answers<VmCommandAccepted>("Deletes a stopped VM.");
        api.MapPost("/vms/{id}/migrate", (HttpContext c, string id) => ForVm(id, () =>
            WithBody(c.Request, json => MigrationJson.ParseMigrate(id, json, out var error) is { } migrate
                ? Send(c, gate, migrate) : Task.FromResult(Invalid(error)))))
            .Takes<MigrateRequest>("Live-migrates a VM to another host.").Answers<MigrationAccepted>(null, StatusCodes.Status202Accepted);
        api.MapDelete("/vms/{id}/migration", (HttpContext c, string id) => ForVm(id, () => Send(c, gate, new CancelMigration(id))))
            .Answers<MigrationCancelling>("Cancels a VM's migration.", StatusCodes.Status202Accepted);
        api.MapGet("/migrations", Handler(c => Page<MigrationList>(c, gate, ListMigrations.Instance, PagedListing.Forward, Listings.Migrations)))
            .Lists<MigrationPage>("Migrations, running and finished, oldest first.");
    }

    private static void MapHostsAndRebalancing(IEndpointRouteBuilder api, IActorRef gate)
    {
        api.MapGet("/hosts", Handler(c => Send(c, gate, ListHosts.Instance))).Answers<HostList>("The cluster's hosts.");
        api.MapPost("/hosts/{host}/leave", (HttpContext c, string host) => ForHost(host, () => Send(c, gate, new LeaveHost(host))))
            .Answers<HostLeaving>("Makes a host leave the cluster.");
        api.MapPost("/hosts/{host}/drain", (HttpContext c, string host) => ForHost(host, () => Send(c, gate, new DrainHost(host))))
            .Answers<DrainStarted>("Migrates every VM off a host and places none there.", StatusCodes.Status202Accepted);
        api.MapPost("/hosts/{host}/undrain", (HttpContext c, string host) => ForHost(host, () => Send(c, gate, new UndrainHost(host))))
            .Answers<HostUndrained>("Lets VMs be placed on a drained host again.");
        api.MapGet("/rebalance", Handler(c => Send(c, gate, GetRebalanceStatus.Instance))).Answers<RebalanceStatus>("The rebalancer's mode, loads and plan.");
        api.MapPut("/rebalance", Handler(c =>
            WithBody(c.Request, json => MigrationJson.ParseRebalanceMode(json, out var error) is { } mode
                ? Send(c, gate, mode) : Task.FromResult(Invalid(error)))))
            .Takes<RebalanceModeRequest>("Sets the rebalancer's mode.").Answers<RebalanceStatus>(null);
    }

    private static void MapAccess(IEndpointRouteBuilder api, IActorRef gate)
    {
        api.MapGet("/tokens", Handler(c => Page<TokenList>(c, gate, ListTokens.Instance, PagedListing.Forward, Listings.Tokens)))
            .Lists<TokenPage>("Every token (never its secret), oldest first.");
        api.MapPost("/tokens", Handler(c =>
            WithBody(c.Request, json => AccessJson.ParseCreate(json, DateTime.UtcNow, out var error) is { } create
                ? Send(c, gate, create) : Task.FromResult(Invalid(error)))))
            .Takes<TokenRequest>("Issues a token; the reply alone carries its text.").Answers<TokenCreated>(null, StatusCodes.Status201Created);
        api.MapDelete("/tokens/{id}", (HttpContext c, string id) => Send(c, gate, new RevokeToken(id)))
            .Answers<TokenRevocation>("Revokes a token on every node.");
        api.MapGet("/audit", Handler(c => Page<AuditList>(c, gate, new ListAudit(AuditLog.Kept), PagedListing.Audit, Listings.Audit)))
            .Lists<AuditPage>("The audit log, newest page first (oldest first within a page).", PagedListing.Audit);
    }

    private static void MapNetworks(IEndpointRouteBuilder api, IActorRef gate)
    {
        api.MapGet("/networks", Handler(c => Page<NetworkList>(c, gate, ListNetworks.Instance, PagedListing.Forward, Listings.Networks)))
            .Lists<NetworkPage>("The cluster's networks, ordered by name.");
        api.MapPost("/networks", Handler(c =>
            WithBody(c.Request, json => NetworkJson.ParseCreate(json, out var error) is { } create
                ? Send(c, gate, create, reply => reply is NetworkInfo ? Results.Json(reply, statusCode: StatusCodes.Status201Created) : null)
                : Task.FromResult(Invalid(error)))))
            .Takes<NetworkRequest>("Creates a network.").Answers<NetworkInfo>(null, StatusCodes.Status201Created);
        api.MapGet("/networks/{name}", (HttpContext c, string name) => ForNetwork(name, () => Send(c, gate, new GetNetwork(name))))
            .Answers<NetworkInfo>("One network with its addresses.");
        api.MapDelete("/networks/{name}", (HttpContext c, string name) => ForNetwork(name, () => Send(c, gate, new DeleteNetwork(name))))
            .Answers<NetworkDeleted>("Deletes a network no VM uses.");
    }

    private static Task<IResult> ForNetwork(string name, Func<Task<IResult>> send) =>
        NetworkSpecValidator.CheckName(name) is { } bad
            ? Task.FromResult(Results.BadRequest(new { error = "invalid", field = bad.Field, message = bad.Message }))
            : send();

    /// <summary>A route handler that takes the request's context (typed as a Delegate so its result is written).</summary>
    private static Delegate Handler(Func<HttpContext, Task<IResult>> handle) => handle;

    /// <summary>Every route in the route table as METHOD and pattern (the OpenAPI document's test reads it, so it cannot go stale).</summary>
    public IReadOnlyList<(string Method, string Pattern)> Routes =>
    [
        .. _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (m, e.RoutePattern.RawText ?? ""))),
    ];

    /// <summary>The addresses the API listens on (with the port Kestrel chose when asked for port 0).</summary>
    public IReadOnlyList<string> Urls => [.. _app.Urls];

    private static IResult Invalid(string? message) => Results.BadRequest(new { error = "bad-request", message });

    private static Task<IResult> ForVm(string id, Func<Task<IResult>> send) =>
        VmSpecValidator.CheckId(id) is { } bad
            ? Task.FromResult(Results.BadRequest(new { error = "invalid", field = bad.Field, message = bad.Message }))
            : send();

    private static Task<IResult> ForHost(string host, Func<Task<IResult>> send) =>
        HostText.IsValid(host) ? send()
            : Task.FromResult(Results.BadRequest(new { error = "invalid", field = "host", message = $"'{host}' is not a host: use HOST:PORT" }));

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

    /// <summary>A listing: the query read (400 for a bad limit), the full list asked for, and one page of it answered.</summary>
    private static Task<IResult> Page<TList>(HttpContext context, IActorRef gate, object message, PagedListing listing,
        Func<TList, PageQuery, HttpRequest, object> page) =>
        Paging.TryRead(context.Request.Query, listing, out var query, out var error)
            ? Send(context, gate, message, reply => reply is TList list ? Results.Json(page(list, query, context.Request)) : null)
            : Task.FromResult(Invalid(error));

    /// <summary>Asks the gate; the reply becomes <paramref name="shape"/>'s result, or <see cref="HttpReplies"/>' where that gives none.</summary>
    private static async Task<IResult> Send(HttpContext context, IActorRef gate, object message, Func<object, IResult?>? shape = null)
    {
        object reply;
        try
        {
            reply = await gate.Ask<object>(BearerCommands.Wrap(RequestGuard.TokenOf(context), message), AskTimeout);
        }
        catch (AskTimeoutException)
        {
            return Results.Json(new { error = "timeout", message = $"no answer to {message.GetType().Name} within {AskTimeout.TotalSeconds} s" },
                statusCode: StatusCodes.Status504GatewayTimeout);
        }
        if (reply is AccessDenied { Reason: Denial.Unauthenticated })
            context.Response.Headers.WWWAuthenticate = "Bearer";
        return shape?.Invoke(reply) ?? HttpReplies.ToResult(reply);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _metrics.Dispose();
    }
}
