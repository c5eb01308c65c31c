use super::*;
use rml_rtmp::chunk_io::ChunkDeserializer;

fn cmd(name: &str, tx: f64, obj: Amf0Value, args: Vec<Amf0Value>) -> RtmpMessage {
    RtmpMessage::Amf0Command {
        command_name: name.into(),
        transaction_id: tx,
        command_object: obj,
        additional_arguments: args,
    }
}

fn feed(p: &mut ServerProto, ser: &mut ChunkSerializer, msg: RtmpMessage, stream_id: u32) -> Vec<Request> {
    let payload = msg.into_message_payload(RtmpTimestamp::new(40), stream_id).unwrap();
    let bytes = ser.serialize(&payload, false, false).unwrap().bytes;
    p.reader().buffer().extend_from_slice(&bytes);
    p.received(bytes.len());
    let mut out = Vec::new();
    while let Some(r) = p.next().unwrap() {
        out.push(r);
    }
    out
}

/// Decode what the server sent back into commands: (name, first info code).
fn replies(p: &mut ServerProto, de: &mut ChunkDeserializer) -> Vec<(String, String)> {
    let bytes = p.take_output().unwrap_or_default();
    let mut out = Vec::new();
    let mut input: &[u8] = &bytes;
    while let Some(m) = de.get_next_message(input).unwrap() {
        input = &[];
        match m.to_rtmp_message().unwrap() {
            RtmpMessage::SetChunkSize { size } => de.set_max_chunk_size(size as usize).unwrap(),
            RtmpMessage::Amf0Command { command_name, additional_arguments, .. } => {
                let code = match additional_arguments.first() {
                    Some(Amf0Value::Object(o)) => match o.get("code") {
                        Some(Amf0Value::Utf8String(c)) => c.clone(),
                        _ => String::new(),
                    },
                    Some(Amf0Value::Number(n)) => n.to_string(),
                    _ => String::new(),
                };
                out.push((command_name, code));
            }
            _ => {}
        }
    }
    out
}

#[test]
fn a_publish_session_from_connect_to_media_and_back() {
    let (mut p, mut ser, mut de) = (ServerProto::new(), ChunkSerializer::new(), ChunkDeserializer::new());
    let mut app = HashMap::new();
    app.insert("app".to_string(), Amf0Value::Utf8String("live".into()));
    let r = feed(&mut p, &mut ser, cmd("connect", 1.0, Amf0Value::Object(app), vec![]), 0);
    assert!(
        matches!(&r[..], [Request::Connect { app, transaction }] if app == "live" && *transaction == 1.0)
    );
    p.accept_connect(1.0);
    assert_eq!(replies(&mut p, &mut de), vec![("_result".into(), "NetConnection.Connect.Success".into())]);
    let key = Amf0Value::Utf8String("the-key".into());
    assert!(
        feed(&mut p, &mut ser, cmd("releaseStream", 2.0, Amf0Value::Null, vec![key.clone()]), 0).is_empty()
    );
    assert!(feed(&mut p, &mut ser, cmd("FCPublish", 3.0, Amf0Value::Null, vec![key.clone()]), 0).is_empty());
    assert!(feed(&mut p, &mut ser, cmd("createStream", 4.0, Amf0Value::Null, vec![]), 0).is_empty());
    assert_eq!(replies(&mut p, &mut de), vec![("_result".into(), "1".into())]);
    // Media before the publish is accepted is not relayed.
    assert!(
        feed(&mut p, &mut ser, RtmpMessage::VideoData { data: Bytes::from_static(&[0x17, 1]) }, 1).is_empty()
    );
    let live = Amf0Value::Utf8String("live".into());
    let r = feed(&mut p, &mut ser, cmd("publish", 0.0, Amf0Value::Null, vec![key, live]), 1);
    assert!(matches!(&r[..], [Request::Publish { key, stream_id: 1 }] if key == "the-key"));
    p.accept_publish(1);
    assert_eq!(replies(&mut p, &mut de), vec![("onStatus".into(), "NetStream.Publish.Start".into())]);

    // Metadata is relayed as sent, unknown fields included.
    let mut props = HashMap::new();
    props.insert("width".to_string(), Amf0Value::Number(1280.0));
    props.insert("x-vendor-field".to_string(), Amf0Value::Utf8String("kept".into()));
    let values = vec![
        Amf0Value::Utf8String("@setDataFrame".into()),
        Amf0Value::Utf8String("onMetaData".into()),
        Amf0Value::Object(props),
    ];
    let body = rml_amf0::serialize(&values).unwrap();
    let r = feed(&mut p, &mut ser, RtmpMessage::Amf0Data { values }, 1);
    match &r[..] {
        [Request::Metadata { raw, metadata }] => {
            assert_eq!(&raw[..], &body[..]);
            assert_eq!(metadata.video_width, Some(1280));
        }
        other => panic!("{other:?}"),
    }
    let r = feed(&mut p, &mut ser, RtmpMessage::AudioData { data: Bytes::from_static(&[0xaf, 1, 2]) }, 1);
    assert!(
        matches!(&r[..], [Request::Media { kind: FrameKind::Audio, timestamp: 40, payload }] if payload[..] == [0xaf, 1, 2])
    );
    let r = feed(&mut p, &mut ser, cmd("FCUnpublish", 5.0, Amf0Value::Null, vec![]), 0);
    assert!(matches!(&r[..], [Request::Unpublish]));
    assert!(feed(
        &mut p,
        &mut ser,
        cmd("deleteStream", 0.0, Amf0Value::Null, vec![Amf0Value::Number(1.0)]),
        0
    )
    .is_empty());
}

#[test]
fn acknowledges_per_the_peer_window_and_answers_pings() {
    let (mut p, mut ser) = (ServerProto::new(), ChunkSerializer::new());
    feed(&mut p, &mut ser, RtmpMessage::WindowAcknowledgement { size: 100 }, 0);
    assert!(p.take_output().is_none());
    p.received(150);
    assert!(p.take_output().is_some_and(|b| !b.is_empty()), "an acknowledgement");
    let ping = RtmpMessage::UserControl {
        event_type: UserControlEventType::PingRequest,
        stream_id: None,
        buffer_length: None,
        timestamp: Some(RtmpTimestamp::new(7)),
    };
    feed(&mut p, &mut ser, ping, 0);
    assert!(p.take_output().is_some(), "a ping response");
}

/// What a stranger can send before any key is checked: a short command (the one-value command
/// that made `rml_rtmp`'s parser panic), 60 KiB of nested AMF0 objects (`rml_amf0` recurses once
/// per level, enough to overflow a thread's stack and abort the process), an 8 MiB message.
#[test]
fn hostile_commands_before_authentication_are_errors_not_crashes() {
    let one_value = rml_amf0::serialize(&vec![Amf0Value::Utf8String("connect".into())]).unwrap();
    let mut deep = vec![0x02, 0x00, 0x07];
    deep.extend_from_slice(b"connect");
    deep.extend_from_slice(&[0x00, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    for _ in 0..15_000 {
        deep.extend_from_slice(&[0x03, 0x00, 0x01, b'a']);
    }
    for body in [one_value, deep] {
        let mut p = ServerProto::new();
        let mut ser = ChunkSerializer::new();
        let data = bytes::Bytes::from(body);
        let msg = rml_rtmp::messages::MessagePayload {
            timestamp: RtmpTimestamp::new(0),
            type_id: 20,
            message_stream_id: 0,
            data,
        };
        p.reader().buffer().extend_from_slice(&ser.serialize(&msg, false, false).unwrap().bytes);
        // The one-value command is read as connect to no application; the deep one is an error.
        match p.next() {
            Ok(Some(Request::Connect { app, .. })) => assert_eq!(app, ""),
            Ok(other) => panic!("{other:?}"),
            Err(e) => assert!(matches!(e, ProtoError::Message(_)), "{e}"),
        }
    }
    let mut p = ServerProto::new();
    p.reader().buffer().extend_from_slice(&[3, 0, 0, 0, 0x80, 0, 0, 20, 0, 0, 0, 0]);
    assert!(matches!(p.next(), Err(ProtoError::Chunk(ChunkError::TooLong(_)))));
}
