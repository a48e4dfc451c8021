using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Cluster.Node.Tests.TestUtils;

/// <summary>
/// Debian's headless chromium driven over its DevTools protocol (a WebSocket; no chromedriver, no Playwright, which
/// want to download browsers): navigate, evaluate script, wait for a condition, click an element with real mouse
/// events, type, and take screenshots. The browser's console errors and uncaught exceptions are collected in
/// <see cref="Problems"/>. Disposing kills the browser (the process this started, and its children) and removes its
/// profile.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;
    private int _nextId;

    private HeadlessChromium(Process process, string profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
        _reading = ReadAsync();
    }

    /// <summary>Console errors and uncaught exceptions the page reported.</summary>
    public ConcurrentQueue<string> Problems { get; } = new();

    /// <summary>Starts the browser on about:blank with a fresh profile under <paramref name="profiles"/>, a 1280x1000 window, and any <paramref name="extra"/> switches.</summary>
    public static async Task<HeadlessChromium> StartAsync(string profiles, params string[] extra)
    {
        var profile = Path.Combine(profiles, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var info = new ProcessStartInfo(ChromiumFactAttribute.Chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                     "--remote-debugging-port=0", "--window-size=1280,1000", $"--user-data-dir={profile}", .. extra, "about:blank"])
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        try
        {
            var port = await DevToolsPort(profile, process);
            using var http = new HttpClient();
            var targets = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list")).RootElement;
            var page = targets.EnumerateArray().First(t => t.GetProperty("type").GetString() == "page");
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            await socket.ConnectAsync(new Uri(page.GetProperty("webSocketDebuggerUrl").GetString()!), CancellationToken.None);
            var browser = new HeadlessChromium(process, profile, socket);
            await browser.Call("Page.enable");
            await browser.Call("Runtime.enable");
            return browser;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>The port chromium chose, from the DevToolsActivePort file it writes into its profile.</summary>
    private static async Task<int> DevToolsPort(string profile, Process process)
    {
        var file = Path.Combine(profile, "DevToolsActivePort");
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"chromium exited with {process.ExitCode} before it opened its DevTools port");
            if (File.Exists(file) && (await File.ReadAllLinesAsync(file)).FirstOrDefault() is { Length: > 0 } line && int.TryParse(line, out var port))
                return port;
            await Task.Delay(100);
        }
        throw new TimeoutException("chromium wrote no DevToolsActivePort within 30 s");
    }

    /// <summary>Sends one DevTools command and waits for its result.</summary>
    public async Task<JsonElement> Call(string method, object? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters ?? new { } });
        await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, _stop.Token);
        var reply = await answer.Task.WaitAsync(CallTimeout);
        if (reply.TryGetProperty("error", out var error))
            throw new InvalidOperationException($"{method}: {error}");
        return reply.GetProperty("result");
    }

    /// <summary>Loads <paramref name="url"/> and waits until the document has loaded.</summary>
    public async Task Navigate(string url)
    {
        await Call("Page.navigate", new { url });
        await WaitFor("document.readyState === 'complete'", TimeSpan.FromSeconds(20), "the page to load");
    }

    /// <summary>Evaluates <paramref name="expression"/> in the page (awaiting a promise) and returns its value as JSON.</summary>
    public async Task<JsonElement> Evaluate(string expression)
    {
        var result = await Call("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true });
        if (result.TryGetProperty("exceptionDetails", out var thrown))
            throw new InvalidOperationException($"the page threw evaluating {expression}: {thrown}");
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>Waits until <paramref name="condition"/> (a script expression) is true in the page; throws saying what it waited for.</summary>
    public async Task WaitFor(string condition, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if ((await Evaluate($"!!({condition})")).ValueKind == JsonValueKind.True)
                return;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"waited {timeout.TotalSeconds:0} s for {what} ({condition}); the page reported: {string.Join(" | ", Problems)}");
            await Task.Delay(100);
        }
    }

    /// <summary>Clicks the centre of the first element matching <paramref name="selector"/> with the mouse, as a user would.</summary>
    public async Task Click(string selector)
    {
        var box = await Evaluate($$"""
            (() => { const e = document.querySelector({{JsonSerializer.Serialize(selector)}}); if (!e) return null;
                     e.scrollIntoView({ block: "center" }); const r = e.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()
            """);
        if (box.ValueKind != JsonValueKind.Object)
            throw new InvalidOperationException($"no element '{selector}' to click; the page reported: {string.Join(" | ", Problems)}");
        double x = box.GetProperty("x").GetDouble(), y = box.GetProperty("y").GetDouble();
        await Call("Input.dispatchMouseEvent", new { type = "mouseMoved", x, y });
        await Call("Input.dispatchMouseEvent", new { type = "mousePressed", x, y, button = "left", clickCount = 1 });
        await Call("Input.dispatchMouseEvent", new { type = "mouseReleased", x, y, button = "left", clickCount = 1 });
    }

    /// <summary>Types <paramref name="text"/> into the focused element.</summary>
    public Task Type(string text) => Call("Input.insertText", new { text });

    /// <summary>Saves a PNG of the viewport to <paramref name="path"/> and returns the path.</summary>
    public async Task<string> Screenshot(string path)
    {
        var shot = await Call("Page.captureScreenshot", new { format = "png" });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot.GetProperty("data").GetString()!));
        return path;
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var received = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                    break;
                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                    continue;
                var root = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                message.SetLength(0);
                if (root.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt32(), out var waiting))
                    waiting.TrySetResult(root);
                else if (root.TryGetProperty("method", out var method))
                    Note(method.GetString(), root.GetProperty("params"));
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the browser went away: pending calls time out
        }
    }

    private void Note(string? method, JsonElement parameters)
    {
        if (method == "Runtime.exceptionThrown")
            Problems.Enqueue("exception: " + parameters.GetProperty("exceptionDetails"));
        else if (method == "Runtime.consoleAPICalled" && parameters.GetProperty("type").GetString() is "error" or "assert")
            Problems.Enqueue("console: " + parameters.GetProperty("args"));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _reading.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // the reader gives up with the socket below
        }
        _socket.Dispose();
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // chromium's last writes may race the removal; the temp folder is the test's
        }
    }
}
