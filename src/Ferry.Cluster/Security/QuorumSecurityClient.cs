using Ferry.Broker.Security;
using Ferry.Cluster.Controller;
using Ferry.Cluster.Raft;

namespace Ferry.Cluster.Security;

/// <summary>
/// The quorum-backed security stores' way to the controller: a request runs on the quorum leader (forwarded, as topic
/// operations are) and returns once this node has applied its record, so the caller reads its own change. A refusal
/// or no quorum is a <see cref="SecurityChangeRefusedException"/>; not finding what a delete names is an answer.
/// </summary>
public sealed class QuorumSecurityClient(ControllerRequestSender controller)
{
    public SecurityImage Image => controller.Image.Security;

    /// <summary>Runs the request; the reply, with <see cref="ControllerReply.Error"/> either none or NotFound.</summary>
    public async ValueTask<ControllerReply> ExecuteAsync(ControllerRequest request, CancellationToken cancellationToken)
    {
        var reply = await controller.ExecuteAsync(request, cancellationToken).ConfigureAwait(false);
        if (reply.Unavailable) throw new SecurityChangeRefusedException(reply.Message ?? "No metadata controller is reachable.", unavailable: true);
        if (reply.Error == (int)SecurityError.Invalid) throw new SecurityChangeRefusedException(reply.Message ?? "Refused by the controller.", unavailable: false);
        return reply;
    }

    /// <summary>True when the reply says what it named was there (a delete that found nothing: false).</summary>
    public static bool Found(ControllerReply reply) => reply.Error != (int)SecurityError.NotFound;
}
