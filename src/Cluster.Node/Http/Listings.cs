using System.Security.Cryptography;
using System.Text;
using Cluster.Contracts.Access;
using Cluster.Contracts.Migration;
using Cluster.Contracts.Networks;
using Cluster.Contracts.Replies;
using Cluster.Node.Http.Replies;
using Microsoft.AspNetCore.Http;

namespace Cluster.Node.Http;

/// <summary>
/// The listings' pages (<see cref="Paging"/>) from the cluster's full lists, each with its stable key: a VM's id, a network's
/// name, a migration's start then id, a token's creation then id, an audit record's time then a digest of its fields (two
/// records of one tick from different nodes stay apart).
/// </summary>
public static class Listings
{
    public static VmPage Vms(VmList list, PageQuery query, HttpRequest request)
    {
        var (items, next) = Paging.Forward(list.Vms, v => v.VmId, query);
        return new VmPage(items, next, Paging.Next(request, PagedListing.Forward, query, next));
    }

    public static MigrationPage Migrations(MigrationList list, PageQuery query, HttpRequest request)
    {
        var (items, next) = Paging.Forward(list.Migrations, m => Paging.TimeKey(m.StartedAt, m.MigrationId), query);
        return new MigrationPage(items, next, Paging.Next(request, PagedListing.Forward, query, next));
    }

    public static NetworkPage Networks(NetworkList list, PageQuery query, HttpRequest request)
    {
        var (items, next) = Paging.Forward(list.Networks, n => n.Spec.Name, query);
        return new NetworkPage(items, next, Paging.Next(request, PagedListing.Forward, query, next));
    }

    public static TokenPage Tokens(TokenList list, PageQuery query, HttpRequest request)
    {
        var (items, next) = Paging.Forward(list.Tokens, t => Paging.TimeKey(t.CreatedAt, t.Id), query);
        return new TokenPage(items, next, Paging.Next(request, PagedListing.Forward, query, next));
    }

    public static AuditPage Audit(AuditList list, PageQuery query, HttpRequest request)
    {
        var (items, next) = Paging.Backward(list.Records, AuditKey, query);
        return new AuditPage(items, next, Paging.Next(request, PagedListing.Audit, query, next));
    }

    private static string AuditKey(AuditRecord r) =>
        Paging.TimeKey(r.At, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{r.Node}\n{r.TokenId}\n{r.Command}\n{r.Target}")))[..12]);
}
