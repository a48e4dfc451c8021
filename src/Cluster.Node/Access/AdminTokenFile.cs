using Cluster.Contracts.Access;

namespace Cluster.Node.Access;

/// <summary>
/// The bootstrap of access control: a node's first start in a data directory writes a new admin token to
/// <c>DATA/admin.token</c> (mode 0600, readable by the node's user alone); every start reads it back, so the node accepts
/// it at once and registers it in the cluster (by hash) for every node. It does not expire; revoke it
/// (<c>vmctl token revoke ID</c>) once other admin tokens exist: a revoked bootstrap token is not made again.
/// </summary>
public static class AdminTokenFile
{
    /// <summary>The name the bootstrap token gets in listings.</summary>
    public const string TokenName = "bootstrap-admin";

    /// <summary>The token of <paramref name="dataDirectory"/> as an event to seed the gate with; creates it on first use.</summary>
    /// <exception cref="IOException">the file cannot be written, or holds no token.</exception>
    public static TokenIssued Ensure(string dataDirectory, out bool created)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, TokenText.AdminTokenFile);
        created = false;
        if (!File.Exists(path))
        {
            var text = TokenText.New(out _);
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using var stream = new FileStream(path, options);
                using var writer = new StreamWriter(stream);
                writer.WriteLine(text);
                created = true;
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process wrote it first: read theirs.
            }
        }
        var token = File.ReadAllText(path).Trim();
        if (TokenText.IdOf(token) is not { } id)
            throw new IOException($"{path} holds no token (cht_...); remove it to have a new admin token made");
        var info = new TokenInfo(id, TokenName, Role.Admin, File.GetLastWriteTimeUtc(path), null, null);
        return new TokenIssued(info, TokenText.Hash(token));
    }
}
