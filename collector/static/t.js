((d,n,L,w,u)=>{try{if(!(w.pa||0).track){var
W=f=>(...a)=>{try{return f(...a)}catch(x){}},
on=(e,f)=>w.addEventListener(e,W(f),!0),
s=d.currentScript,k=s.dataset,N=Date.now,Q=[],T,K,P,O,Fa,M=0,Vs=d.hidden?0:N(),Tt=0,Ne=0,R={'CLS':0},
S=(v,k)=>(''+v).slice(0,k),
st=(o,v)=>{try{o=w[o+'Storage'];return v?o.pa_id=v:v==u?o.pa_id:delete o.pa_id}catch(x){}},
I=()=>crypto.getRandomValues(new Uint32Array(4)).join('-'),
api=k.api||new URL(s.src).origin+'/api/event',
X=k.exclude&&RegExp('//[^/]*('+k.exclude.replace(/\*/g,'.*').replace(/ *, */g,'|')+')'),
off=!/^http/.test(L.protocol)||!('local'in k)&&/^(localhost|127\.|\[)/.test(L.hostname),
G=n.globalPrivacyControl,D=n.doNotTrack==1,V=st('local'),
C=V||!G&&!D&&k.consent=='granted'&&st('local',V=I())?{analytics:!0}:k.consent=='denied'?{analytics:!1}:{},
F=W(b=>Q[0]&&(b='['+Q+']',Q=[],n.sendBeacon(api,b)||fetch(api,{'method':'POST','body':b,'keepalive':!0}).catch(W))),
E=(t,o={},h=o.url||L.href,r=d.referrer)=>off||X&&X.test(h)||(Q.push(JSON.stringify({site:k.site||L.hostname,type:t,url:S(h,2e3),
 referrer:/^http/.test(r)?S(r,2e3):u,ts:N(),event_id:crypto.randomUUID&&crypto.randomUUID(),consent:{...C},vid:V,sid:V&&(st('session')||st('session',I())),...o}))>19?F():T||(T=setTimeout(()=>F(T=0),1e3))),
sc=()=>M=Math.max(M,Math.min(100,Math.round((scrollY+innerHeight)/d.documentElement.scrollHeight*100))||0),
rep=(t=N(),m=Vs&&t-Vs)=>{sc();Vs=Vs&&t;m&&(Tt+=m,E('engagement',{url:P,engaged_ms:Math.min(m,864e5),scroll:M}))},
pv=W(h=>{h=L.pathname+('hash'in k?L.hash:'');h!=K&&(K&&rep(),K=h,P=S(L.href,2e3),M=0,E('pageview'))}),
tr=(m,p,r={},k,i=0)=>{if(m){for(k in p)k&&i++<30&&(r[S(k,64)]=S(p[k],256));E('custom',{name:S(m,100),props:r})}},
q=(w.pa||0).q||[],hd,pa=w.pa=W((m,...a)=>pa[m](...a));
G&&(C.gpc=!0);D&&(C.dnt=!0);
pa.track=W(tr);
pa.expose=W((x,v)=>x&&E('exposure',{experiment:S(x,100),variant:S([v],100)}));
pa.consent=W((c,p,a=c.analytics)=>{if(a===!!a&&a!=C.analytics){a&&st('local',V=I());C.analytics=a;
 (a||V)&&E('consent',{action:a?'grant':'withdraw',categories:['analytics'],policy_version:(p=p||k.policy)?S(p,50):u});
 F();a||(st('local',0),st('session',0),V=u)}});
['pushState','replaceState'].map(k=>{var o=history[k];history[k]=(...a)=>(o.apply(history,a),pv())});
on('popstate',pv);on('hashchange',pv);on('scroll',sc);
on('click',(e,t=e.target,a=t.closest('a[href]'),g=t.closest('[data-event]'),p={},x,h=d.documentElement,f=v=>v>0?+Math.min(1,v).toFixed(4):0)=>{
 if(g){for(x of g.attributes)x.name.indexOf('data-event-')||(p[x.name.slice(11)]=x.value);tr(g.dataset.event,p)}
 a&&/^http/.test(a.protocol)&&((x=a.pathname.match(/\.(pdf|zip|csv|xlsx?|docx?|mp[34]|exe|dmg)$/))||a.host!=L.host)&&E('click',{kind:x?'download':'outbound',link:a.host,file:(x||[])[1]});
 'heatmap'in k&&e.detail&&E('click',{kind:'heatmap',x:f(e.pageX/h.scrollWidth),y:f(e.pageY/h.scrollHeight),tag:/^[a-z][a-z\d-]{0,31}$/.test(x=t.tagName.toLowerCase())?x:u})});
on('error',e=>e.message&&Ne++<9&&E('error',{message:S(e.message,200),source:(e.filename+'').split('/')[2]}));
'forms'in k&&['focusin','change','submit'].map(k=>on(k,(e,t=e.target,f=t.form||t,x)=>f.tagName=='FORM'&&(x={form:S(f.id||f.name||'',100),field:f!=t&&S(t.name||t.id,100)||u},
 Fa=k>'r'?0:x,O!=(O=k+x.form+x.field)&&E('form',{...x,action:k.replace('in','')}))));
hd=k=>{rep();Vs=0;for(k in R)(R[k]||k<'D')&&E('vital',{name:k,value:Math.min(+R[k].toFixed(k>'D'?0:4),36e5)});R=0;F()};
on('visibilitychange',()=>d.hidden?hd():Vs=N());
on('pagehide',()=>{hd();Fa&&E('form',{...Fa,action:'abandon'});Fa=0;E('session_end',{engaged_ms:Math.min(Tt,864e5),scroll:M});F()});
[['paint','FCP',e=>e.startTime],['navigation','TTFB',e=>e.responseStart],['layout-shift','CLS',e=>e.hadRecentInput?0:R.CLS+e.value],['largest-contentful-paint','LCP',e=>e.startTime],['event','INP',e=>e.interactionId&&e.duration]].map(([t,k,f])=>W(()=>new PerformanceObserver(l=>l.getEntries().map(e=>R[k]=Math.max(R[k]||0,f(e)))).observe({type:t,'buffered':!0,'durationThreshold':16}))());
pv();q.map(a=>pa(...a))}}catch(x){}})(document,navigator,location,window)
