// A plain JMS 1.1 submitter, built against the ActiveMQ client jars of the Debian package: what
// a submitter's Java system does to reach the JMS door. It sends one TextMessage (the file given)
// to a request queue with JMSReplyTo and JMSCorrelationID set, then reads the replies that carry
// that correlation id and writes each one to the output directory.
//
// Usage: java JmsRequestReply BROKER_URL REQUEST_QUEUE REPLY_QUEUE|temp CORRELATION_ID BODY_FILE
//                             REPLIES TIMEOUT_MS OUT_DIR [PROPERTY=VALUE ...]
//
// stdout, one line each:  sent <JMSMessageID>
//                         reply <n> <TextMessage|BytesMessage|...> <JMSCorrelationID> <edi_name or ->
// Exit 0 when REPLIES replies arrived, 3 when the timeout passed first.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import javax.jms.BytesMessage;
import javax.jms.Connection;
import javax.jms.Destination;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.DeliveryMode;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;

public final class JmsRequestReply {
    public static void main(String[] args) throws Exception {
        if (args.length < 8) {
            System.err.println("usage: BROKER_URL REQUEST_QUEUE REPLY_QUEUE|temp CORRELATION_ID BODY_FILE"
                    + " REPLIES TIMEOUT_MS OUT_DIR [PROPERTY=VALUE ...]");
            System.exit(2);
        }
        String brokerUrl = args[0];
        String requestQueue = args[1];
        String replyQueue = args[2];
        String correlationId = args[3];
        String body = new String(Files.readAllBytes(Paths.get(args[4])), StandardCharsets.UTF_8);
        int replies = Integer.parseInt(args[5]);
        long timeoutMs = Long.parseLong(args[6]);
        Path outDir = Paths.get(args[7]);

        Connection connection = new ActiveMQConnectionFactory(brokerUrl).createConnection();
        try {
            connection.start();
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Destination replyTo = "temp".equals(replyQueue)
                    ? session.createTemporaryQueue() : session.createQueue(replyQueue);
            // the selector makes this consumer see only the answers to its own request
            MessageConsumer consumer = session.createConsumer(
                    replyTo, "JMSCorrelationID = '" + correlationId.replace("'", "''") + "'");

            MessageProducer producer = session.createProducer(session.createQueue(requestQueue));
            producer.setDeliveryMode(DeliveryMode.PERSISTENT);
            TextMessage request = session.createTextMessage(body);
            request.setJMSReplyTo(replyTo);
            request.setJMSCorrelationID(correlationId);
            for (int i = 8; i < args.length; i++) {
                int eq = args[i].indexOf('=');
                request.setStringProperty(args[i].substring(0, eq), args[i].substring(eq + 1));
            }
            producer.send(request);
            System.out.println("sent " + request.getJMSMessageID());
            System.out.flush();

            long deadline = System.currentTimeMillis() + timeoutMs;
            for (int n = 1; n <= replies; n++) {
                long left = deadline - System.currentTimeMillis();
                Message reply = left > 0 ? consumer.receive(left) : null;
                if (reply == null) {
                    System.out.println("timeout after " + (n - 1) + " replies");
                    System.exit(3);
                }
                byte[] content;
                String type;
                if (reply instanceof TextMessage) {
                    type = "TextMessage";
                    content = ((TextMessage) reply).getText().getBytes(StandardCharsets.UTF_8);
                } else if (reply instanceof BytesMessage) {
                    type = "BytesMessage";
                    BytesMessage bytes = (BytesMessage) reply;
                    content = new byte[(int) bytes.getBodyLength()];
                    bytes.readBytes(content);
                } else {
                    type = reply.getClass().getSimpleName();
                    content = new byte[0];
                }
                Files.write(outDir.resolve("reply-" + n + ".json"), content);
                String name = reply.getStringProperty("edi_name");
                System.out.println("reply " + n + " " + type + " " + reply.getJMSCorrelationID() + " "
                        + (name == null ? "-" : name));
                System.out.flush();
            }
        } finally {
            connection.close();
        }
    }
}
