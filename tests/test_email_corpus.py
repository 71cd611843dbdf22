"""Every fixture mail over a real SMTP session: the report, follow-up or silence it must produce, and its reply.

One row per real-world format (Gmail, Outlook, Thunderbird, Apple Mail, Yahoo, iso-2022-jp, mailing lists, DSNs,
read receipts, autoreplies...). A reporting row checks text, subject, sender, attachments and the reply in the
outbox; a loop-guard row checks that nothing is reported or answered and that the reason is counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest
from redis import Redis

from channels.email.guards import SUPPRESSED
from channels.email.parse import parse_mail
from gateway.settings import Settings
from gateway.tracking import SEQUENCE_KEY
from tests.email_support import (
    RECIPIENT,
    SmtpServerThread,
    envelope_count,
    fixture,
    outbox,
    run_replies,
    stored_envelope,
)


@dataclass(frozen=True)
class Case:
    fixture: str
    outcome: str  # report, follow_up, suppressed, bounce, quarantined
    sender: str | None = None
    name: str | None = None
    subject: str | None = None
    text_has: tuple[str, ...] = ()
    text_lacks: tuple[str, ...] = ()
    # (name, content type, flags that must be present)
    attachments: tuple[tuple[str | None, str, tuple[str, ...]], ...] = ()
    reason: str | None = None
    follow_up_of: str | None = None
    mail_from: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # the whole text filed, when the row says it
    threads_under: str | None = None  # the Message-ID the reply must name in brackets, when the row says it
    answered: bool = True  # a report filed and not answered (its answer would go to a noreply address) says False
    reply_to: str | None = None  # where the answer goes, when not to the sender
    bounce_status: str = "5.1.1"  # a bounce row's status, as recorded on its report


CASES = [
    Case("gmail_alternative", "report", "budi.santoso1987@gmail.com", "Budi Santoso", "Jalan berlubang di Jl. Merdeka",
         ("Jalan di depan SDN 3 Jl. Merdeka, Bandung berlubang besar", "Terima kasih.\nBudi"), ("<div",)),
    Case("gmail_inline_image", "report", "siti.aminah.88@gmail.com", "Siti Aminah", "Sampah menumpuk di pasar",
         ("Sampah menumpuk di Pasar Baru",), attachments=(("sampah.png", "image/png", ("inline",)),)),
    Case("gmail_reply_quoted_id", "report", "rina.wulan@gmail.com", "Rina Wulandari", "Re: Lampu jalan mati",
         ("Lampu jalan di RT 04 RW 02 Sukajadi masih mati",), ("menulis", "laporan akan kami teruskan", ">")),
    Case("gmail_forward_inline", "report", "agus.prasetyo@gmail.com", "Agus Prasetyo",
         "Fwd: Pungutan liar di kantor kecamatan",
         ("Mohon ditindaklanjuti", "Forwarded message", "membayar Rp 200.000 untuk mengurus KTP")),
    Case("outlook_html_only_cp1252", "report", "hendra.gunawan@outlook.co.id", "Hendra Gunawan",
         "Banjir di perumahan", ("Griya Asri \u201ctersumbat\u201d dan banjir setinggi 50 cm \u2013 mohon bantuan",),
         ("<p", "MsoNormal", "o:p")),
    Case("webform_html_only_template", "report", "formulir@sukamaju.desa.id", "Formulir Desa Sukamaju",
         "Pengaduan warga: Pungutan liar",
         ("Diterima: 24 November 2026 09.12 WIB\n\nKategori: Pungutan liar",
          "Nama \u00b7 Sri Wahyuni\nAlamat \u00b7 RT 02 RW 05, Dusun Krajan\nIsi laporan \u00b7 Petugas kantor desa "
          "meminta Rp 150.000 untuk surat keterangan tidak mampu (SKTM), padahal layanan ini gratis.",
          "Pesan ini dikirim otomatis"), ("Pengaduan baru dari formulir", "* * *", "|", "---", "\u200c")),
    Case("outlook_reply_original", "report", "maria.ulfa@hotmail.com", "Maria Ulfa", "RE: Izin usaha belum terbit",
         ("Izin usaha saya sudah 3 bulan belum terbit",), ("Berkas Anda sedang diproses", "Sent:")),
    Case("outlook_reply_indonesian", "report", "rahmat.hidayat@outlook.co.id", "Rahmat Hidayat",
         "BLS: Sertifikat tanah", ("Sertifikat tanah saya di BPN belum selesai sejak 2024.",),
         ("Dikirim:", "Berkas sedang diproses")),
    Case("thunderbird_bottom_post", "report", "joko.susilo@riseup.net", "Joko Susilo", "Re: Penerangan jalan",
         ("lampu penerangan di Jl. Ahmad Yani KM 5 masih padam",), ("wrote:", "sudah kami catat")),
    Case("outlook_pdf_attachment", "report", "yusuf.h@outlook.com", "Yusuf Hidayat", "Tagihan PDAM tidak wajar",
         ("Rp 2.500.000",), attachments=(("tagihan-pdam.pdf", "application/pdf", ()),)),
    # Outlook's rich text: the files inside winmail.dat (TNEF) are read out beside it; they were a winmail.dat no one
    # without Outlook could open, and an anonymous report's copy withheld it whole
    Case("outlook_winmail_dat", "report", "bambang.sutrisno@kecamatan-cibeber.example.go.id", "Bambang Sutrisno",
         "Jembatan penghubung Desa Cibeber retak",
         ("Jembatan penghubung Desa Cibeber dan Desa Sukamulya retak di tiang tengahnya, foto dan surat",),
         attachments=(("jembatan.png", "image/png", ()), ("Surat RT 04.pdf", "application/pdf", ()),
                      ("winmail.dat", "application/ms-tnef", ()))),
    Case("thunderbird_latin1_flowed", "report", "andre.wijaya@posteo.net", "Andr\u00e9 Wijaya", "Pelayanan paspor",
         ("caf\u00e9 di depan kantor bahkan menjual nomor antrean",), ("Andr\u00e9 Wijaya",)),
    Case("thunderbird_rfc2231_filename", "report", "lestari.dewi@gmail.com", "Lestari", "Foto kerusakan jembatan",
         ("Jembatan gantung di Desa Sukamaju retak",), attachments=(("jembatan r\u00fasak.png", "image/png", ()),)),
    # a webmail's RFC 2231 name with the charset `undefined`, a codec that refuses every byte: the mail was
    # quarantined for its file name; the name is read as UTF-8
    Case("webmail_rfc2231_undefined_charset", "report", "suryani.rt03@desanet.example.id", "Suryani",
         "Jalan desa rusak di RT 03", ("lubang sedalam 30 cm di depan masjid",),
         attachments=(("Foto jalan rusak \u2013 RT 03.jpg", "image/jpeg", ()),)),
    # the same webmail's 8-bit text part labelled `undefined`: the stdlib decoded it with that codec while the parser
    # looked for forwarded mails, which raised, and the mail was quarantined (unreadable_mime), answered 250 unfiled
    Case("webmail_8bit_text_charset_undefined", "report", "suryani.rt03@desanet.example.id", "Suryani",
         "Lampu jalan mati di RT 03", ("Lampu jalan di depan Kaf\u00e9 Melati", "dalam gelap \u2014 mohon"),
         attachments=(("lampu.jpg", "image/jpeg", ()),)),
    Case("apple_mail_related", "report", "kevin.tanoto@icloud.com", "Kevin Tanoto", "Trotoar rusak",
         ("Trotoar di Jl. Sudirman depan halte rusak parah",), ("Dikirim dari iPhone",),
         attachments=(("IMG_0412.png", "image/png", ("inline",)),)),
    Case("apple_mail_attachment", "report", "nadia.putri@me.com", "Nadia Putri", "Pohon tumbang",
         ("Pohon tumbang menutup jalan",), attachments=(("IMG_2201.HEIC", "image/heic", ()),)),
    Case("iso2022jp_japanese", "report", "t.yamada@example.co.jp", "山田太郎", "詐欺の報告",
         ("バリのホテルで詐欺に遭いました",)),
    # Outlook's Thai label Python has no codec of, and Shift_JIS as Japanese clients write it (cp932: NEC's ① and
    # IBM's 髙): each was read as windows-1252, mojibake in the text, the subject and the sender's name
    Case("outlook_thai_windows874", "report", "somchai.j@hotmail.co.th", "สมชาย ใจดี", "ถูกเรียกเก็บเงินที่ด่าน",
         ("ผมถูกเจ้าหน้าที่เรียกเก็บเงิน 500 บาท ที่ด่านตรวจคนเข้าเมืองบาหลี – ไม่มีใบเสร็จ",)),
    Case("japanese_shift_jis_nec_characters", "report", "ichiro.takahashi@example.ne.jp", "髙橋 一郎",
         "空港での不正請求",
         ("バリ島の空港で係員に１万円を要求されました。領収書はありません。髙橋①",)),
    # Japanese Outlook's ISO-2022-JP with NEC row 13 (①, ㈱, Ⅱ) and NEC-selected IBM characters (髙) in its JIS X 0208
    # runs, in the text, the subject and the name: Python's codec failed each whole, filed as "$B-!(B"
    Case("outlook_iso2022jp_nec_characters", "report", "ken.takagi@example.co.jp", "髙木 健",
         "㈱サヌール観光の二重請求①",
         text="高橋様の件とは別に報告します。\nバリ島の㈱サヌール観光で、入場料を二重に請求されました。\n"
              "①入口で１０万ルピア、②出口でまた１０万ルピアです。\nⅡ期工事のため、と説明されましたが領収書はありません。"
              "\n\n髙木 健"),
    # One byte a declared charset cannot read is one U+FFFD, the rest as declared: a form that cut its text mid-
    # character, a line pasted from a windows-1252 document, a Shift_JIS form cut mid-character. The whole text was
    # read as windows-1252 ("“" filed as "â€œ").
    Case("webform_utf8_cut_character", "report", "formulir@desa-sukamaju.example.id", "Formulir Pengaduan Desa",
         "Pengaduan warga: jalan rusak", reply_to="sutrisno.krajan@gmail.com",
         text="Nama: Sutrisno\nLokasi: Jl. Merdeka \u2014 depan SDN 3 Kabupat\u00e9n Bogor\n"
              "Isi: Jalan \u201crusak\u201d parah sejak Januari, sudah tiga pengendara jatuh. "
              "Mohon segera diperbaiki \ufffd"),
    Case("android_base64_utf8_one_cp1252_byte", "report", "andi.wijaya.bgr@gmail.com", "Andi Wijaya",
         "Pungli di Samsat Bogor",
         text="Petugas loket Samsat meminta \u201cuang rokok\u201d Rp 500rb \u2014 tanpa kuitansi. Kejadian di "
              "Kabupat\u00e9n Bogor, Senin 30 November 2026.\n\nAndi\nLBH Rakyat \u2013 Pos Pengaduan Bogor"),
    Case("shift_jis_cut_character", "report", "hanako.sato@example.ne.jp", "佐藤 花子", "道路の穴",
         text="道路に大きな穴があります。場所は①番地の前、コンビニの横です。\ufffd"),
    Case("yahoo_alternative", "report", "wahyu_nugroho@yahoo.co.id", "Wahyu Nugroho", "Guru honorer belum digaji",
         ("Guru honorer di SD Negeri 5 belum menerima gaji",), ("ydp1a2b3c4d",)),
    Case("yahoo_android_footer", "report", "dewi.lestari77@yahoo.co.id", "Dewi Lestari",
         "PJU mati di Jl. Raya Cileunyi",
         ("Lampu PJU di Jl. Raya Cileunyi KM 3 mati sejak dua minggu, jalan gelap dan rawan begal. Mohon segera "
          "diperbaiki.",), ("Dikirim dari", "Yahoo")),
    Case("undeclared_8bit_utf8", "report", "darmo@warnet-jaya.net", "Pak Darmo", "Keluhan rumah sakit \u2013 antrean",
         ("lebih dari 6 jam. Pelayanan \u201ctidak ramah\u201d",)),
    Case("undeclared_8bit_cp1252", "report", "lukas@correio.example.com.br", "Lukas Pereira", "Visa on arrival",
         ("extra fee \u2013 50\u20ac \u201cfor processing\u201d. S\u00e3o Paulo",)),
    Case("windows1252_qp", "report", "hartono@bigpond.com", "Hartono", "Pungli parkir",
         ("meminta \u201cuang keamanan\u201d Rp 20.000 \u2013 tanpa karcis",)),
    Case("base64_utf8", "report", "ahmad.fauzi@mail.ugm.ac.id", "Ahmad Fauzi", "Beasiswa belum cair",
         ("Beasiswa KIP Kuliah semester ini belum cair",)),
    Case("unknown_transfer_encoding", "report", "oldmailer@kampus.example.ac.id", "Old Mailer",
         "Laporan dari sistem lama", ("Atap gedung kuliah bocor di ruang 201",)),
    Case("nested_multipart", "report", "fitri.handayani@gmail.com", "Fitri Handayani",
         "Bantuan sosial tidak tepat sasaran", ("diberikan kepada keluarga perangkat desa",), ("<div",),
         attachments=(("logo.png", "image/png", ("inline",)), ("daftar-penerima.docx",
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ()))),
    Case("outlook_forward_rfc822", "report", "camat.sukaraja@outlook.com", "Camat Sukaraja", "FW: Jalan desa rusak",
         ("Meneruskan laporan warga", "Subject: Jalan desa rusak", "Jalan desa Sukaraja rusak sepanjang 2 km"),
         attachments=(("jalan.png", "image/png", ()),)),
    # the forwarded mail in base64 or quoted-printable (RFC 2046 forbids it; Exchange and phone clients do it): it
    # reached the case store as a block of base64, or with its "=E2=80=93" left in, and its photo was lost
    *(Case(f"outlook_forward_rfc822_{encoding}", "report", "camat.sukaraja@outlook.com", "Camat Sukaraja",
           "FW: Jalan desa rusak", ("Meneruskan laporan warga", "Subject: Jalan desa rusak",
                                    "Jalan desa Sukaraja rusak sepanjang 2 km \u2013 truk tambang lewat setiap hari."),
           ("=E2", "RnJvbT"), attachments=(("jalan.png", "image/png", ()),))
      for encoding in ("base64", "quoted_printable")),
    Case("thunderbird_forward_inline", "report", "kades@desa-sukamaju.example.id", "Kepala Desa Sukamaju",
         "Fwd: Jembatan desa ambrol", ("Mohon ditindaklanjuti", "Forwarded Message",
                                        "Jembatan di Dusun Krajan ambrol sejak Senin"), ("Kec. Sukaraja",)),
    Case("apple_mail_forward", "report", "rina.h@icloud.com", "Rina Hartati", "Fwd: Puskesmas tutup di jam pelayanan",
         ("Begin forwarded message:", "Puskesmas Kelurahan Mekarsari tutup pukul 10.00",)),
    Case("outlook_forward_inline", "report", "dishub@outlook.co.id", "Dinas Perhubungan", "FW: Pungli di pelabuhan",
         ("Diteruskan untuk ditindaklanjuti.", "Sent: Thursday",
          "Petugas di pintu masuk Pelabuhan Merak meminta Rp 50.000")),
    Case("executable_attachment", "report", "pelapor123@mail.example.net", "Unknown Sender", "Bukti penipuan",
         ("Bukti penipuan investasi",), attachments=(("bukti.pdf.exe", "application/octet-stream", ("executable",)),)),
    # a multipart with no parts the parser can find (no boundary, or one on no line): its body is read as text; it
    # was neither text nor file, and the report was its subject alone
    Case("php_mailer_multipart_no_boundary", "report", "formulir@desa-sukamaju.example.id",
         "Formulir Pengaduan Desa", "Pengaduan warga: air bersih",
         ("Nama: Sutrisno\nIsi: Air PAM di Dusun Krajan tidak mengalir sejak tiga hari",)),
    # a school's report system sending a parent's report from a noreply address: filed, and not answered there
    Case("script_multipart_boundary_mismatch", "report", "noreply-laporan@sdn5.example.sch.id",
         "Sistem Laporan Sekolah", "Laporan orang tua murid",
         ("Sekolah meminta iuran Rp 250.000 per murid untuk seragam yang tidak pernah dibagikan.",), answered=False),
    # mail from a noreply address: filed (it may carry a citizen's report), answered at its Reply-To when it names
    # someone (a web form's, the citizen's), else not at all: our answer to "no-reply@" reached no one, or the
    # system behind it, which may answer in turn
    Case("webform_noreply_reply_to_citizen", "report", "noreply@desa-sukamaju.example.id",
         "Formulir Pengaduan Desa Sukamaju", "Pengaduan warga: pungutan surat pindah",
         ("meminta Rp 100.000 untuk surat keterangan pindah",), reply_to="sri.wahyuni.krajan@gmail.com"),
    Case("noreply_notification_no_reply_to", "report", "no-reply@perizinan.example.go.id",
         "Sistem Informasi Perizinan", "Status permohonan izin Anda: DIPROSES",
         ("Permohonan izin nomor PB-2026-004417",), answered=False),
    # clear-signed mail (S/MIME from Outlook with a BSrE certificate, OpenPGP from Thunderbird): the text is read and
    # the detached signature is no file of the report (it was, withheld from an anonymous one)
    Case("outlook_smime_signed_photo", "report", "dewi.anggraini@pemkot.example.go.id", "Dewi Anggraini",
         "Saluran air tersumbat di Jl. Melati", ("Saluran air di Jl. Melati RT 02 tersumbat sampah sejak seminggu",),
         attachments=(("saluran.png", "image/png", ()),)),
    Case("thunderbird_openpgp_signed", "report", "joko.susilo@riseup.net", "Joko Susilo",
         "Pungutan di jembatan timbang",
         text="Petugas jembatan timbang di KM 12 meminta Rp 50.000 dari setiap truk tanpa karcis."),
    Case("no_message_id", "report", "warga@desa-makmur.example.id", None, "Air bersih",
         ("Air PDAM di Desa Makmur tidak mengalir",)),
    Case("rfc2047_headers", "report", "ayu.putu@gmail.com", "Ni Luh Putu Ay\u00fa",
         "Pelayanan Dukcapil \u2013 KTP belum jadi (sudah 6 bulan)", ("e-KTP saya belum jadi",)),
    Case("subject_only", "report", "singkat@gmail.com", "Singkat", "Lampu merah perempatan Dago mati",
         ("Lampu merah perempatan Dago mati",)),
    Case("gmail_nota_dinas_pasted", "report", "guru.honorer.sdn7@gmail.com", "Guru Honorer",
         "Pungutan iuran wajib dari dinas",
         ("Dari: Kepala Dinas Pendidikan Kabupaten\nTanggal: 3 November 2026\nPerihal: Iuran wajib kegiatan",
          "wajib menyetor Rp 5.000.000", "kepala sekolah menulis:\n\"Yang tidak setor, dana BOS ditahan.\"",
          "Mohon ditindaklanjuti.")),
    Case("follow_up_subject_tag", "follow_up", "budi.santoso1987@gmail.com", "Budi Santoso",
         "Re: [LAPOR #10000057] Jalan berlubang di Jl. Merdeka", ("lubangnya sekarang makin besar",),
         follow_up_of="10000057"),
    Case("follow_up_references", "follow_up", "siti.aminah.88@gmail.com", "Siti Aminah", "Re: Sampah menumpuk di pasar",
         ("Sampahnya sudah diangkut sebagian",), ("wrote:", "Terima kasih, laporan Anda"), follow_up_of="10001236"),
    # Outlook quotes our acknowledgement below its header block, no ">", its lines wrapped at 76: the words below it
    # are the citizen's addition (they were lost, the mail taken for quoted history alone), ours and the block are not
    Case("outlook_reply_below_our_acknowledgement", "follow_up", "dewi.kartika@outlook.co.id", "Dewi Kartika",
         "RE: [LAPOR #10001248] Drainase tersumbat di Jl. Kenanga",
         ("Airnya sekarang sudah masuk ke rumah warga RT 05, tingginya sekitar 20 cm.\nMohon segera ditangani.",),
         ("Terima kasih, laporan Anda", "Sent:", "dewi.kartika@", "English:", "Tracking ID"), follow_up_of="10001248"),
    # Answers naming our acknowledgement by its subject tag alone (webmail and phone clients drop In-Reply-To and
    # References): our reply quoted in them is none of the citizen's words, wherever it stands, and with no ">"
    Case("outlook_web_reply_tag_only_words_below", "follow_up", "rudi.hartono@outlook.com", "Rudi Hartono",
         "RE: [LAPOR #10001257] Jalan ambles di Jl. Cempaka",
         text="Lubangnya sekarang sudah selebar 2 meter, motor warga ada yang jatuh tadi pagi.\n\nRudi",
         follow_up_of="10001257"),
    Case("outlook_reply_tag_only_words_above_and_below", "follow_up", "sri.mulyani@outlook.co.id", "Sri Mulyani",
         "RE: [LAPOR #10001261] Sampah menumpuk di TPS Kelurahan Sukasari",
         text="Foto terbaru saya kirim terpisah.\n\nSampahnya sudah tiga minggu tidak diangkut dan mulai dibakar "
              "warga.",
         follow_up_of="10001261"),
    # our reply quoted and a photo, no words: the photo is the addition, its text the subject (as a threaded answer's)
    Case("webmail_reply_tag_only_quote_and_photo", "follow_up", "yanti.s@indosat.example.net", "Yanti Susanti",
         "Re: [LAPOR #10001273] Sungai tercemar limbah pabrik",
         text="Re: [LAPOR #10001273] Sungai tercemar limbah pabrik",
         attachments=(("IMG_20261203_191502.jpg", "image/jpeg", ()),), follow_up_of="10001273"),
    Case("yahoo_reply_tag_only_words_above", "follow_up", "bambang_irawan@yahoo.co.id", "Bambang Irawan",
         "Re: [LAPOR #10001285] Pungli pembuatan SIM",
         text="Petugasnya kemarin minta lagi Rp 300.000, saya punya rekaman suaranya.", follow_up_of="10001285"),
    # the tag alone does not make the history quoted ours: an official's answer quoted is the citizen's evidence
    Case("gmail_reply_tag_quoting_an_official", "follow_up", "eko.wibowo1990@gmail.com", "Eko Wibowo",
         "Re: [LAPOR #10001299] Dana desa untuk jalan tani",
         ("Jalan tani tidak bisa dibangun tahun ini", "Silakan tanya ke kecamatan."), follow_up_of="10001299"),
    # Our acknowledgement forwarded back to us: a follow-up of the report its tag names, as any mail with the tag; the
    # citizen's words around the forward are the addition, the forward of our words is not
    Case("gmail_forward_of_our_acknowledgement", "follow_up", "lina.marlina88@gmail.com", "Lina Marlina",
         "Fwd: [LAPOR #10001301] Lampu jalan mati di Gang Melati",
         text="Sudah seminggu sejak laporan ini, lampunya masih mati dan kemarin ada\npenjambretan di gang itu.",
         follow_up_of="10001301"),
    Case("outlook_forward_of_our_acknowledgement", "follow_up", "hendra.saputra@outlook.co.id", "Hendra Saputra",
         "FW: [LAPOR #10001317] Antrean BPJS di RSUD",
         text="Pasien lansia masih disuruh datang jam 4 pagi untuk antre nomor.\n\nHendra", follow_up_of="10001317"),
    Case("outlook_original_message_forward_of_our_acknowledgement", "follow_up", "ahmad.syafii@kabupaten.example.go.id",
         "Ahmad Syafii", "Fw: [LAPOR #10001325] Honor guru PAUD belum cair",
         text="Sampai hari ini honor bulan Oktober dan November belum dibayar.", follow_up_of="10001325"),
    Case("apple_mail_forward_of_our_acknowledgement", "follow_up", "putri.ayu@icloud.com", "Putri Ayu",
         "Fwd: [LAPOR #10001330] Air PDAM keruh",
         text="Ini laporan saya minggu lalu. Tadi pagi air PDAM keruh lagi dan berbau.", follow_up_of="10001330"),
    # nothing of the citizen's: as a threaded answer with no words, its text is its subject
    Case("yahoo_forward_of_our_acknowledgement_alone", "follow_up", "rudi_hartono@yahoo.co.id", "Rudi Hartono",
         "Fwd: [LAPOR #10001257] Jalan ambles di Jl. Cempaka",
         text="Fwd: [LAPOR #10001257] Jalan ambles di Jl. Cempaka", follow_up_of="10001257"),
    # A small mail server's Message-ID, In-Reply-To and References without angle brackets: our reply threads under
    # the citizen's mail (it had no In-Reply-To), and an answer naming our reply so is a follow-up (it was a report)
    Case("bare_message_id", "report", "kasno@sidomulyo.example.id", "Kasno", "Bantuan pupuk subsidi tidak sampai",
         ("Pupuk subsidi untuk kelompok tani Sidomulyo",),
         threads_under="1733279411.4412.kasno@mail.sidomulyo.example.id"),
    Case("bare_message_id_follow_up", "follow_up", "kasno@sidomulyo.example.id", "Kasno",
         "Re: Bantuan pupuk subsidi tidak sampai", ("pupuknya dijual ke kios di desa sebelah",),
         ("Terima kasih, laporan Anda", "wrote:"), follow_up_of="10001349",
         threads_under="1733356959.5120.kasno@mail.sidomulyo.example.id"),
    Case("autoreply_auto_submitted", "suppressed", reason="auto_submitted"),
    Case("precedence_bulk", "suppressed", reason="precedence"),
    # out-of-office notices answering our acknowledgement with none of the fields above (Exchange behind a gateway
    # that drops its X-MS-Exchange fields, Lotus Notes 7, an Outlook rule): known by their subject's opening beside
    # our Message-ID; each was filed as the citizen's words and answered
    Case("exchange_automatic_reply_via_gateway", "suppressed", reason="autoreply_subject"),
    Case("domino_auto_out_of_office", "suppressed", reason="autoreply_subject"),
    Case("balasan_otomatis_outlook_client", "suppressed", reason="autoreply_subject"),
    # an autoresponder that writes no In-Reply-To (Exim's autoreply transport, as hosting panels set it up): known by
    # our reply's subject, tag and all, after its opening
    Case("exim_autoreply_no_threading", "suppressed", reason="autoreply_subject",
         mail_from="humas@kelurahan-sukajadi.example.id"),
    # a calendar's answer to an invitation (Outlook in Indonesian, Google Calendar) and an organizer's cancellation
    # (Thunderbird): filed as reports and answered; an invitation forwarded as evidence is a report (test_email_smtp)
    Case("outlook_calendar_accepted_indonesian", "suppressed", reason="calendar_reply"),
    Case("google_calendar_declined", "suppressed", reason="calendar_reply"),
    Case("thunderbird_calendar_cancelled", "suppressed", reason="calendar_reply"),
    Case("outlook_oof_suppress", "suppressed", reason="x_auto_response_suppress"),
    Case("mailing_list", "suppressed", reason="mailing_list"),
    Case("x_loop", "suppressed", reason="x_loop"),
    Case("own_address", "suppressed", reason="own_address"),
    Case("own_message_id", "suppressed", reason="own_message_id"),
    Case("dsn_gmail_other", "suppressed", reason="dsn", mail_from=""),
    Case("read_receipt_mdn", "suppressed", reason="read_receipt"),
    Case("dsn_bounce_of_our_reply", "bounce", reason="dsn", mail_from="", follow_up_of="10007774"),
    # RFC 6533's forms, for mail to or from a non-ASCII address: a bounce from a sender that is not null (Exchange's
    # postmaster) and a read receipt were filed as reports and answered, a bounce of our reply was not recorded
    Case("dsn_global_bounce_of_our_reply", "bounce", reason="dsn", mail_from="", follow_up_of="10007774"),
    Case("dsn_global_exchange_other", "suppressed", reason="dsn", mail_from="postmaster@dinas.example.go.id"),
    Case("read_receipt_global_mdn", "suppressed", reason="read_receipt"),
    # a mail system's other reports (multipart/report): a feedback loop's abuse report (Outlook.com's JMRP, RFC 5965)
    # and a TLS report (RFC 8460): filed as reports and answered
    Case("arf_feedback_report_hotmail", "suppressed", reason="mail_report", mail_from="staff@hotmail.com"),
    Case("tlsrpt_google", "suppressed", reason="mail_report", mail_from="noreply-smtp-tls-reporting@google.com"),
    # more machine mail a real mailbox receives, each already neither reported nor answered: Exchange's bounce of one
    # of our replies (its header returned as text/rfc822-headers), recorded on its report; Outlook's read receipt; a
    # qmail bounce in plain text (no DSN: its null sender says it); Mailman's copy of a list mail that Cc'd us; a
    # newsletter with one-click unsubscribe (RFC 8058)
    Case("exchange_ndr_of_our_reply", "bounce", reason="dsn", mail_from="", follow_up_of="10000057"),
    Case("outlook_read_receipt_mdn", "suppressed", reason="read_receipt"),
    Case("qmail_plain_bounce", "suppressed", reason="null_sender", mail_from=""),
    Case("mailman_list_cc", "suppressed", reason="precedence",
         mail_from="warga-kelurahan-bounces@lists.kelurahan.example.id"),
    Case("newsletter_one_click_unsubscribe", "suppressed", reason="mailing_list",
         mail_from="bounce-7f3a@mail.beritakota.example.id"),
    Case("quarantine_no_from", "quarantined", reason="no_sender"),
    # machine mail that carries none of the fields above, each filed as a report and answered (a bogus case, and an
    # answer that may start a loop): an Outlook message recall as Exchange sends it outside its organisation; DMARC
    # aggregate reports (Google's zip, Microsoft's gzip); a Lotus Notes return receipt; plain-text bounces, dropped
    # unrecorded when from postmaster (Postfix through a forwarder, Exchange), or filed and answered when from
    # Exchange's system mailbox ("Microsoft Outlook"): a bounce of one of our replies (our Message-ID in the header it
    # returns, or our tag in its subject) is recorded on its report, as a DSN of one is; another, a bounce of a mail
    # forged in our name, is dropped
    Case("exchange_recall_external", "suppressed", reason="recall", mail_from="dewi.kartika@dinkes.example.go.id"),
    Case("dmarc_aggregate_google", "suppressed", reason="dmarc_report",
         mail_from="3kXYzaBQKCRcRdUcSRd-WXUdZc-SfURS.efjRchaiTUXXWffVgUZ.lfh@scoutcamp.bounces.google.com"),
    Case("dmarc_aggregate_microsoft", "suppressed", reason="dmarc_report", mail_from="dmarcreport@microsoft.com"),
    Case("postfix_plain_bounce_postmaster", "bounce", reason="dsn", follow_up_of="10000057",
         mail_from="bounces+srs=k3x9q=2a@forward.kelurahan.example.id"),
    Case("exchange_plain_undeliverable_postmaster", "bounce", reason="dsn", follow_up_of="10000057",
         mail_from="postmaster@dinas.example.go.id", bounce_status="5.1.10"),
    Case("exchange_ndr_text_of_our_reply", "bounce", reason="dsn", follow_up_of="10000057", mail_from=""),
    Case("exchange_ndr_text_backscatter", "suppressed", reason="bounce_subject",
         mail_from="postmaster@perusahaan.example.com"),
    Case("exim_plain_bounce_of_our_reply", "bounce", reason="dsn", follow_up_of="10000057", mail_from=""),
    Case("qmail_plain_bounce_of_our_reply", "bounce", reason="dsn", follow_up_of="10000057", mail_from=""),
    Case("domino_return_receipt", "suppressed", reason="return_receipt",
         mail_from="sutrisno.hadi@pemkab.example.go.id"),
]


def suppressed_count(reason: str) -> float:
    return SUPPRESSED.labels(reason)._value.get()


def test_the_corpus_has_at_least_thirty_fixtures() -> None:
    assert len({case.fixture for case in CASES}) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.fixture for case in CASES])
def test_fixture_mail_over_smtp(case: Case, smtp_server: SmtpServerThread, email_settings: Settings,
                                redis: Redis) -> None:
    before = suppressed_count(case.reason) if case.reason else 0.0
    if case.outcome == "follow_up" and case.follow_up_of:  # the report it adds to was minted here: it is one
        minted = int(case.follow_up_of[:-1])
        if int(redis.get(SEQUENCE_KEY) or 0) < minted:
            redis.set(SEQUENCE_KEY, minted)
    raw = fixture(case.fixture)
    result = smtp_server.deliver(raw, mail_from=case.sender if case.mail_from is None and case.sender
                                 else case.mail_from if case.mail_from is not None else "sender@example.net")
    assert result.rcpt_codes == [250]
    assert result.data_code == 250, result.data_message
    run_replies(email_settings, redis)
    replies = outbox(email_settings)

    if case.outcome in ("report", "follow_up"):
        check_report(case, result.tracking_id, raw, redis, email_settings)
        assert len(replies) == (1 if case.answered else 0)
        if replies:
            check_reply(case, replies[0], result.tracking_id, parse_mail(raw).message_id)
        return

    assert envelope_count(redis) == 0
    assert replies == []
    if case.outcome == "suppressed":
        assert suppressed_count(case.reason or "") == before + 1
    elif case.outcome == "bounce":
        state = redis.hgetall(f"lapor:report:{case.follow_up_of}")
        assert state[b"reply_bounce_action"] == b"failed"
        assert state[b"reply_bounce_status"] == case.bounce_status.encode()
    elif case.outcome == "quarantined":
        directory = email_settings.data_dir / "email" / "quarantine"
        key = hashlib.sha256(raw).hexdigest()
        assert (directory / f"{key}.eml").read_bytes() == raw
        assert b'"reason":"no_sender"' in (directory / f"{key}.json").read_bytes()


def check_report(case: Case, tracking_id: str | None, raw: bytes, redis: Redis, settings: Settings) -> None:
    assert tracking_id is not None
    envelope = stored_envelope(redis, tracking_id)
    assert envelope is not None
    assert envelope["channel"] == "email"
    assert envelope["source"] == "email-smtp"
    assert envelope["sender"] == {"kind": "email", "id": case.sender, "display_name": case.name}
    assert envelope["subject"] == case.subject
    for expected in case.text_has:
        assert expected in envelope["text"]
    for unwanted in case.text_lacks:
        assert unwanted not in envelope["text"]
    if case.text is not None:
        assert envelope["text"] == case.text
    assert envelope["follow_up_of"] == case.follow_up_of
    # A Message-ID is its sender's and its content's: the dedup id is a digest of the From address, the Message-ID and
    # what the mail says as read.
    message_id = envelope["channel_meta"]["message_id"]
    content = parse_mail(raw).content_digest
    expected_id = ("from-message-id:" + hashlib.sha256(f"{case.sender}\0{message_id}\0{content}".encode()).hexdigest()
                   if message_id else "sha256:" + hashlib.sha256(raw).hexdigest())
    assert envelope["channel_message_id"] == expected_id
    listed = envelope["attachments"]
    assert [(a["name"], a["content_type"]) for a in listed] == [(n, t) for n, t, _ in case.attachments]
    for attachment, (_, _, flags) in zip(listed, case.attachments, strict=True):
        assert set(flags) <= set(attachment["flags"])
        content = (settings.data_dir / attachment["location"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == attachment["sha256"]
        assert len(content) == attachment["size"]


def check_reply(case: Case, reply: object, tracking_id: str | None, message_id: str | None) -> None:
    thread_id = case.follow_up_of or tracking_id
    clean_subject = (case.subject or "").replace(f"[LAPOR #{thread_id}] ", "")
    for prefix in ("Re: ", "RE: ", "FW: ", "Fw: ", "Fwd: ", "BLS: "):
        clean_subject = clean_subject.removeprefix(prefix)
    assert reply["Subject"] == f"[LAPOR #{thread_id}] {clean_subject}"  # type: ignore[index]
    assert reply["To"] == (case.reply_to or case.sender)  # type: ignore[index]
    assert reply["Auto-Submitted"] == "auto-replied"  # type: ignore[index]
    if case.threads_under:  # read from the reply, not from our parse of the mail
        assert str(reply["In-Reply-To"]).strip() == f"<{case.threads_under}>"  # type: ignore[index]
        assert str(reply["References"]).split()[-1] == f"<{case.threads_under}>"  # type: ignore[index]
    if message_id:
        assert str(reply["In-Reply-To"]).strip() == f"<{message_id}>"  # type: ignore[index]
        assert f"<{message_id}>" in str(reply["References"])  # type: ignore[index]
    else:
        assert reply["In-Reply-To"] is None  # type: ignore[index]
    assert reply["Message-ID"].startswith(f"<lapor-{thread_id}-")  # type: ignore[index]
    assert reply["Message-ID"].endswith("@mail.lapor.go.id>")  # type: ignore[index]
    body = reply.get_content()  # type: ignore[attr-defined]
    assert "English:" in body
    if case.outcome == "follow_up":
        assert f"tambahan informasi untuk laporan {thread_id}" in body
    else:
        assert f"Nomor lacak laporan Anda: {thread_id}" in body


def test_recipient_constant_matches_the_default_address(email_settings: Settings) -> None:
    assert email_settings.email.addresses == [RECIPIENT]


def test_a_bounce_whose_action_is_not_a_dsn_action_adds_no_metric_label(smtp_server: SmtpServerThread,
                                                                          redis: Redis) -> None:
    """The Action field is whatever the mail says: on /metrics it must not become a label (a number, an address,
    one new series per mail); the report records the bounce as "other"."""
    from prometheus_client import REGISTRY

    raw = fixture("dsn_bounce_of_our_reply").replace(b"Action: failed", b"Action: +6281234567890 warga@desa.id")
    assert smtp_server.deliver(raw, mail_from="").data_code == 250
    labels = {sample.labels.get("action") for family in REGISTRY.collect() if family.name == "lapor_email_bounces"
              for sample in family.samples}
    assert labels and labels <= {"failed", "delayed", "delivered", "relayed", "expanded", "other"}, labels
    state = redis.hgetall("lapor:report:10007774")
    assert state[b"reply_bounce_action"] == b"other"
