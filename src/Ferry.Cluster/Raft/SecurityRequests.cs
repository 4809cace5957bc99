using Ferry.Broker.Security.Acls;
using Ferry.Cluster.Controller;

namespace Ferry.Cluster.Raft;

/// <summary>The controller's side of the security operations: a request to its <see cref="SecurityDecisions"/> call, the decision to a reply and records.</summary>
internal static class SecurityRequests
{
    public static bool Handles(ControllerOperation operation) => operation is >= ControllerOperation.PutUser and <= ControllerOperation.DeletePermission;

    public static (ControllerReply Reply, List<MetadataRecord> Records) Decide(SecurityImage image, ControllerRequest request)
    {
        string user = request.UserName ?? "", vhost = request.Vhost ?? "";
        var decision = request.Operation switch
        {
            ControllerOperation.PutUser => SecurityDecisions.PutUser(image, user, request.Tags ?? [], request.Credentials ?? [], request.IfAbsent),
            ControllerOperation.DeleteUser => SecurityDecisions.DeleteUser(image, user),
            ControllerOperation.AddAcls => SecurityDecisions.AddAcls(image, request.Acls ?? []),
            ControllerOperation.RemoveAcls => SecurityDecisions.RemoveAcls(image, request.AclFilters ?? []),
            ControllerOperation.PutVhost => SecurityDecisions.PutVhost(image, vhost),
            ControllerOperation.DeleteVhost => SecurityDecisions.DeleteVhost(image, vhost),
            ControllerOperation.PutPermission => SecurityDecisions.PutPermission(image, vhost, user, request.Configure ?? "", request.Write ?? "", request.Read ?? ""),
            ControllerOperation.DeletePermission => SecurityDecisions.DeletePermission(image, vhost, user),
            _ => SecurityDecision.Refused(SecurityError.Invalid, "Not a security operation."),
        };
        var reply = new ControllerReply
        {
            Error = (int)decision.Error, Message = decision.Message, Existed = decision.Existed,
            RemovedAcls = decision.Removed?.Select(r => r.ToList()).ToList(),
        };
        return (reply, decision.Record is { } record ? [record] : []);
    }

    /// <summary>The removed bindings of a RemoveAcls reply, one list per filter (none when the reply has none).</summary>
    public static IReadOnlyList<IReadOnlyList<AclBinding>> Removed(ControllerReply reply, int filters) =>
        reply.RemovedAcls is { } removed ? removed : [.. Enumerable.Range(0, filters).Select(_ => (IReadOnlyList<AclBinding>)[])];
}
