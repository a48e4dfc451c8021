using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using Cluster.Vmctl.Client;

namespace Cluster.Vmctl.Cli;

/// <summary>
/// <c>vmctl --server https://HOST:PORT console ID --interactive</c>: the VM's serial console over the API's WebSocket
/// (<c>GET /api/v1/vms/ID/console</c>), like <c>virsh console</c>. On a terminal, stdin goes raw (<see cref="RawTerminal"/>,
/// restored on every way out) and each key goes to the guest until Ctrl-] (0x1d); otherwise stdin is sent until its end,
/// then output is printed for <c>--seconds</c> more (default 2). The server's certificate is checked as
/// <see cref="HttpsControlClient"/> checks it.
/// </summary>
public static class InteractiveConsole
{
    /// <summary>The escape byte, Ctrl-].</summary>
    public const byte Escape = 0x1d;

    public static async Task<int> RunAsync(Uri server, string token, X509Certificate2Collection? trusted, TimeSpan timeout, string id, string? seconds,
        TextWriter stderr)
    {
        var linger = 2.0;
        if (seconds is not null && (!double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out linger) || linger <= 0))
        {
            stderr.WriteLine("vmctl: bad --seconds");
            return ExitCodes.Usage;
        }
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        socket.Options.RemoteCertificateValidationCallback = HttpsControlClient.Validation(trusted);
        var uri = new UriBuilder(server) { Scheme = "wss", Path = $"/api/v1/vms/{Uri.EscapeDataString(id)}/console" }.Uri;
        using (var connecting = new CancellationTokenSource(timeout))
        {
            try
            {
                await socket.ConnectAsync(uri, connecting.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                return Refused(socket.HttpStatusCode, server, e, stderr);
            }
        }
        stderr.WriteLine($"Connected to VM {id} (escape character is ^])");
        using var stdout = Console.OpenStandardOutput();
        var output = CopyOutAsync(socket, stdout);
        var tty = !Console.IsInputRedirected;
        if (tty)
            await TypeFromTerminalAsync(socket, output);
        else
        {
            await SendAllAsync(socket, Console.OpenStandardInput());
            await Task.WhenAny(output, Task.Delay(TimeSpan.FromSeconds(linger)));
        }
        if (output.IsCompleted)
            return Ended(socket, stderr);
        try
        {
            using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", closing.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the node went away meanwhile: nothing left to detach from
        }
        if (tty)
            stderr.WriteLine();
        return ExitCodes.Ok;
    }

    private static int Refused(HttpStatusCode status, Uri server, Exception e, TextWriter stderr)
    {
        switch (status)
        {
            case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden:
                stderr.WriteLine($"vmctl: access denied ({(status == HttpStatusCode.Unauthorized ? "unauthenticated" : "forbidden")}): {server} answered {(int)status}");
                return ExitCodes.Denied;
            case HttpStatusCode.BadRequest:
                stderr.WriteLine($"vmctl: {server} refused the console: 400 (a bad VM id?)");
                return ExitCodes.Refused;
            default:
                stderr.WriteLine($"vmctl: cannot open the console at {server}: {e.InnerException?.Message ?? e.Message}");
                return ExitCodes.Unreachable;
        }
    }

    /// <summary>The server closed the socket: a refusal (access denied, no such VM) or the end of the console.</summary>
    private static int Ended(ClientWebSocket socket, TextWriter stderr)
    {
        var reason = socket.CloseStatusDescription is { Length: > 0 } text ? text : "closed";
        switch (socket.CloseStatus)
        {
            case WebSocketCloseStatus.PolicyViolation:
                stderr.WriteLine($"vmctl: {reason}");
                return ExitCodes.Denied;
            case WebSocketCloseStatus.NormalClosure:
                stderr.WriteLine($"vmctl: console closed: {reason}");
                return reason == "detached" ? ExitCodes.Ok : ExitCodes.Refused;
            default:
                stderr.WriteLine($"vmctl: console lost: {reason}");
                return ExitCodes.Unreachable;
        }
    }

    private static async Task CopyOutAsync(ClientWebSocket socket, Stream stdout)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                    return;
                await stdout.WriteAsync(buffer.AsMemory(0, received.Count));
                await stdout.FlushAsync();
            }
        }
        catch (WebSocketException)
        {
            // the connection dropped: the caller sees the socket's state
        }
    }

    private static async Task SendAllAsync(ClientWebSocket socket, Stream stdin)
    {
        var buffer = new byte[4096];
        int read;
        while ((read = await stdin.ReadAsync(buffer)) > 0 && socket.State == WebSocketState.Open)
            await socket.SendAsync(buffer.AsMemory(0, read), WebSocketMessageType.Binary, true, CancellationToken.None);
    }

    /// <summary>Raw terminal: each read goes to the guest up to the escape byte; the settings come back on every way out.</summary>
    private static async Task TypeFromTerminalAsync(ClientWebSocket socket, Task output)
    {
        using var interrupted = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            interrupted.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var raw = RawTerminal.Enter();
        try
        {
            // fd 0 itself: .NET's stdin stream on a terminal edits lines itself (echo, Enter), which raw mode must not have.
            using var stdin = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read, 0);
            var buffer = new byte[1024];
            while (socket.State == WebSocketState.Open)
            {
                var reading = stdin.ReadAsync(buffer).AsTask();
                var first = await Task.WhenAny(reading, output, Task.Delay(Timeout.Infinite, interrupted.Token));
                if (first != reading)
                    return;
                var read = await reading;
                if (read == 0)
                    return;
                var escape = Array.IndexOf(buffer, Escape, 0, read);
                if (escape != 0)
                    await socket.SendAsync(buffer.AsMemory(0, escape < 0 ? read : escape), WebSocketMessageType.Binary, true, CancellationToken.None);
                if (escape >= 0)
                    return;
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
