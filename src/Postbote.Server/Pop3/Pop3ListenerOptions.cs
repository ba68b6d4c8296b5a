using System.Net;
using Postbote.Net;

namespace Postbote.Pop3;

/// <summary>One POP3 listener.</summary>
/// <param name="EndPoint">Address and port.</param>
/// <param name="ImplicitTls"><c>true</c> when TLS starts with the connection (<c>[pop3] listen_tls</c>, RFC 8314 §3.3,
/// port 995); <c>false</c> for clear text with STLS offered (<c>[pop3] listen</c>, RFC 2595 §4, port 110).</param>
public sealed record Pop3ListenerOptions(IPEndPoint EndPoint, bool ImplicitTls = false) : IListenerEndPoint;
