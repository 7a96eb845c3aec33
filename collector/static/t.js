/*! privacy analytics tracker, MIT */
!function(w,d,n,L,u){try{var
W=f=>function(){try{return f.apply(0,arguments)}catch(x){}},
s=d.currentScript,A=k=>s.getAttribute('data-'+k),H=k=>A(k)!=u,N=Date.now,
on=(t,e,f)=>t.addEventListener(e,W(f),!0),
S=(v,k)=>(''+v).slice(0,k),
st=(o,k,v)=>{try{o=w[o];return v?o[k]=v:v===u?o[k]:delete o[k]}catch(x){}},
id=k=>[...crypto.getRandomValues(new Uint8Array(k))].map(b=>(b%36).toString(36)).join(''),
api=A('api')||new URL(s.src).origin+'/api/event',
X=(A('exclude')||'').split(',').filter(x=>x).map(x=>RegExp('^'+x.trim().replace(/[^\w\/*-]/g,'\\$&').replace(/\*/g,'.*'))),
off=!/^http/.test(L.protocol)||!H('local')&&/^(localhost|127\.|\[::1)/.test(L.hostname),
Q=[],T,K,U,M=0,Vs=d.hidden?0:N(),Tot=0,Ne=0,VT={},Z,Fm=new Map,O={},
G=n.globalPrivacyControl,D=n.doNotTrack==1,c=A('consent'),V=st('localStorage','pa_vid'),C={},
F=W(()=>{clearTimeout(T);for(var b;T=Q[0];n.sendBeacon(api,b='['+b+']')||fetch(api,{'method':'POST','body':b,'keepalive':!0,'mode':'no-cors'}).catch(N))
 for(b=[Q.shift()];Q[0]&&b.length<99&&(b+Q[0]).length<2e4;)b.push(Q.shift())}),
E=(t,o)=>{off||X.some(r=>r.test(L.pathname))||(Q.push(JSON.stringify({site:A('site')||L.hostname,type:t,url:S(L.href,2e3),
 referrer:/^http/.test(d.referrer)?S(d.referrer,2e3):u,ts:N(),event_id:crypto.randomUUID&&crypto.randomUUID(),
 consent:{...C},vid:V,sid:V&&(st('sessionStorage','pa_sid')||st('sessionStorage','pa_sid',id(16))),...o}))>99?F():T||(T=setTimeout(F,1e3)))},
hs=h=>/^[a-z\d.-]*(:\d+)?$/i.test(h)?h:u,
sc=()=>{M=Math.max(M,Math.min(100,Math.round((scrollY+innerHeight)/d.documentElement.scrollHeight*100)))||0},
rep=(t,m)=>{t=N();m=Vs&&t-Vs;Vs=Vs&&t;m>0&&(Tot+=m,E('engagement',{url:U,engaged_ms:Math.min(m,864e5),scroll:M}))},
pv=W(k=>{k=L.pathname+(H('hash')?L.hash:'');k!=K&&(U&&rep(),K=k,U=S(L.href,2e3),M=0,sc(),E('pageview'))}),
vi=(k,v)=>E('vital',{name:k,value:Math.min(+v.toFixed(k=='CLS'?4:0),36e5)}),
ob=(t,f)=>W(()=>new PerformanceObserver(l=>l.getEntries().map(W(f))).observe({type:t,'buffered':!0,'durationThreshold':16}))(),
tr=(m,p,r,i,k,v,t)=>{if(m){r={};i=0;for(k in p)v=p[k],t=typeof v,k&&k.length<65&&i<30&&(t=='string'||t=='boolean'||isFinite(v)&&t=='number')&&(r[k]=t<'s'?v:S(v,256),i++);E('custom',{name:S(m,100),props:r})}},
err=(m,f)=>m&&Ne++<9&&E('error',{message:S(m,200),source:hs((f||'').split('/')[2])}),
fm=(t,a,f,k,x)=>{f=t.form||t;if(f.tagName=='FORM'){k=S(f.getAttribute('id')||f.getAttribute('name')||'',100);x=f!=t&&S(t.name||t.id,100)||u;
 a>'r'?Fm.delete(f):Fm.set(f,[k,x]);O[a+k+x]||E('form',{form:k,field:x,action:a},O[a+k+x]=1)}},
pa=w.pa,q=pa&&pa.q||[],h=history,e=performance.getEntriesByType('navigation')[0];
// A stored id means the visitor granted consent; GPC and DNT block the site's default grant.
/^[\w-]{16,64}$/.test(V)?C.analytics=!0:(V=u,G||D||c!='granted'?c=='denied'&&(C.analytics=!1):(st('localStorage','pa_vid',V=id(24)),C.analytics=!0));
G&&(C.gpc=!0);D&&(C.dnt=!0);
if(!pa||!pa.track){
pa=w.pa=W(function(m){pa[m].apply(0,[].slice.call(arguments,1))});
pa.track=W(tr);
pa.expose=W((x,v)=>x&&E('exposure',{experiment:S(x,100),variant:S(v==u?'':v,100)}));
pa.consent=W((c,p,a)=>{a=c&&c.analytics;if(a===!!a&&a!=C.analytics){a&&st('localStorage','pa_vid',V=id(24));C.analytics=a;
 E('consent',{action:a?'grant':'withdraw',categories:['analytics'],policy_version:(p=p||A('policy'))?S(p,50):u});
 F();a||(st('localStorage','pa_vid',0),st('sessionStorage','pa_sid',0),V=u)}});
['pushState','replaceState'].map(k=>{var o=h[k];h[k]=function(){try{return o.apply(this,arguments)}finally{pv()}}});
on(w,'popstate',pv);H('hash')&&on(w,'hashchange',pv);on(w,'scroll',sc);
on(d,'click',e=>{var t=e.target,c=k=>t.closest&&t.closest(k),a=c('a[href]'),g=c('[data-event]'),p={},x,h=d.documentElement,f=v=>v>0?+Math.min(1,v).toFixed(4):0;
 if(g){for(x of g.attributes)x.name.indexOf('data-event-')||(p[x.name.slice(11)]=x.value);tr(g.getAttribute('data-event'),p)}
 if(a&&/^http/.test(a.protocol))(x=a.pathname.match(/\.(pdf|zip|gz|dmg|exe|msi|apk|iso|csv|xlsx?|docx?|pptx?|txt|mp[34]|mov|epub)$/i))||a.hasAttribute('download')?
  E('click',{kind:'download',link:hs(a.host),file:x?x[1]:u}):a.host!=L.host&&E('click',{kind:'outbound',link:hs(a.host)});
 H('heatmap')&&E('click',{kind:'heatmap',x:f(e.pageX/h.scrollWidth),y:f(e.pageY/h.scrollHeight),tag:/^[a-z][a-z\d-]{0,31}$/.test(x=t.tagName.toLowerCase())?x:u})});
on(w,'error',e=>err(e.message,e.filename));
on(w,'unhandledrejection',e=>err((e=e.reason)&&e.message||e));
H('forms')&&['focusin','change','submit'].map(k=>on(d,k,e=>fm(e.target,k=='focusin'?'focus':k)));
on(d,'visibilitychange',()=>{d.hidden?(rep(),Vs=0,Z||Object.keys(VT).map(k=>vi(k,VT[k])),Z=1,F()):Vs=N()});
on(w,'pagehide',()=>{rep();Fm.forEach(v=>E('form',{form:v[0],field:v[1],action:'abandon'}));Fm.clear();E('session_end',{engaged_ms:Math.min(Tot,864e5),scroll:M});F()});
on(w,'pageshow',e=>e.persisted&&(K=0,Vs=N(),pv()));
ob('paint',e=>e.name[6]=='c'&&vi('FCP',e.startTime));
ob('largest-contentful-paint',e=>VT.LCP=e.startTime);
ob('layout-shift',e=>e.hadRecentInput||(VT.CLS=(VT.CLS||0)+e.value));
ob('event',e=>e.interactionId&&(VT.INP=Math.max(VT.INP||0,e.duration)));
e&&vi('TTFB',e.responseStart);pv();q.map(a=>pa(...a))}
}catch(x){}}(window,document,navigator,location)
